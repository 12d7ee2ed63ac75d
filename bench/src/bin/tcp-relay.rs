//! The floor for any proxy on a machine: a TCP relay that copies bytes
//! between the client and the upstream with `tokio::io::copy_bidirectional`,
//! on a default tokio runtime (one worker per CPU; `TOKIO_WORKER_THREADS=1`
//! gives it one, like selfbrake's default), parsing nothing. What it
//! adds to latency and spends in CPU per token is what one socket read, one
//! socket write and their wake-ups cost here, before any HTTP or SSE work.
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use clap::Parser;
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser, Debug)]
#[command(about = "Plain TCP relay: the cost floor of a proxy")]
struct Args {
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    upstream: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let listener = TcpListener::bind(a.listen).await?;
    loop {
        let (mut client, _) = listener.accept().await?;
        let upstream = a.upstream;
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}
