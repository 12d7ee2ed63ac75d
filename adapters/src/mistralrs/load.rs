//! Loading the GGUF file, with errors that name the path.

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Instant;

use ::mistralrs::{GgufModelBuilder, Model};
use futures::FutureExt;

use super::MistralrsConfig;
use crate::AdapterError;

/// The first bytes of every GGUF file.
const GGUF_MAGIC: &[u8; 4] = b"GGUF";

/// Checks the file, then builds the engine on the CPU. Returns the model and its name.
pub(super) async fn load(cfg: &MistralrsConfig) -> Result<(Model, String), AdapterError> {
    let path = cfg.gguf.as_path();
    check_file(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| fail(path, "the file name is not valid UTF-8"))?
        .to_string();
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("embedded")
        .to_string();
    let dir = dir
        .to_str()
        .ok_or_else(|| fail(path, "the directory name is not valid UTF-8"))?
        .to_string();
    let started = Instant::now();
    let build = GgufModelBuilder::new(dir, vec![file])
        .with_force_cpu()
        .with_max_num_seqs(cfg.max_num_seqs.max(1))
        .with_throughput_logging()
        .build();
    // A damaged file can make the loader panic rather than fail.
    let model = AssertUnwindSafe(build)
        .catch_unwind()
        .await
        .map_err(|panic| fail(path, &format!("the loader failed: {}", panic_text(&*panic))))?
        .map_err(|e| fail(path, &format!("{e:#}")))?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        gguf = %path.display(),
        model = %name,
        load_s = format!("{secs:.2}"),
        "embedded engine loaded"
    );
    Ok((model, name))
}

/// A missing, unreadable or non-GGUF file is refused before the engine sees it.
pub(super) fn check_file(path: &Path) -> Result<(), AdapterError> {
    let mut f = std::fs::File::open(path).map_err(|e| fail(path, &e.to_string()))?;
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic)
        .map_err(|_| fail(path, "the file is too short to be a GGUF model"))?;
    if &magic != GGUF_MAGIC {
        return Err(fail(
            path,
            "not a GGUF file (it does not start with the `GGUF` magic bytes)",
        ));
    }
    Ok(())
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

fn fail(path: &Path, why: &str) -> AdapterError {
    AdapterError::Internal(format!("cannot load GGUF model {}: {why}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_corrupt_files_name_the_path() {
        let dir = std::env::temp_dir().join(format!("selfbrake-gguf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.gguf");
        let err = check_file(&missing).unwrap_err().to_string();
        assert!(err.contains(&missing.display().to_string()), "{err}");

        let corrupt = dir.join("corrupt.gguf");
        std::fs::write(&corrupt, b"not a model at all").unwrap();
        let err = check_file(&corrupt).unwrap_err().to_string();
        assert!(
            err.contains("corrupt.gguf") && err.contains("not a GGUF file"),
            "{err}"
        );

        let short = dir.join("short.gguf");
        std::fs::write(&short, b"GG").unwrap();
        let err = check_file(&short).unwrap_err().to_string();
        assert!(err.contains("too short"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
