//! Where reasoning sits in a model's text: the `<think>` tags, and the
//! assistant prefix a continuation answers from.
//!
//! Every adapter reads and writes reasoning through this module, so the tag
//! strings and the prefix layout exist once.
//!
//! ```
//! use selfbrake_adapters::format::{prefix, PrefixFormat};
//!
//! let p = prefix(PrefixFormat::ThinkTags, "2+2 is 4.");
//! assert_eq!(p, "<think>\n2+2 is 4.\n</think>\n\n");
//! assert_eq!(p.len() - "2+2 is 4.".len(), PrefixFormat::ThinkTags.wrapping_len());
//! ```
mod prefix;
mod think;

pub use prefix::{prefix, PrefixFormat};
pub use think::{Piece, ThinkSplitter};

/// Opens a reasoning block.
pub const OPEN_THINK: &str = "<think>";
/// Closes a reasoning block.
pub const CLOSE_THINK: &str = "</think>";
