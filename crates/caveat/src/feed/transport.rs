//! Sockets to lines: a UDP socket, a TCP listener (at most `max_connections`
//! at once), or an outgoing TCP connection kept up with exponential backoff.
//! Each cuts what it reads into lines of at most `max_line_bytes`
//! ([`caveat_ais::LineFramer`]) and queues them for the feed's decoder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use caveat_ais::LineFramer;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::time::Instant;

use super::commit::{Chunk, Queues};
use super::metrics::Counters;
use super::{FeedLimits, FeedSpec, Transport};

/// Bytes asked of the kernel for a UDP socket's receive buffer (it may give
/// less: Linux caps it at `net.core.rmem_max`): room for a burst of a few
/// thousand datagrams while the receive task is not scheduled.
const UDP_RECEIVE_BUFFER: usize = 8 << 20;
/// An outgoing connection attempt is given up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket error on accept or receive (out of descriptors, say) is retried after this pause, not in a tight loop.
const ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Binds the feed's socket (listening feeds fail here on a bad address) and spawns its reader.
pub(crate) async fn start(
    spec: &FeedSpec,
    limits: FeedLimits,
    queues: Queues,
    counters: Arc<Counters>,
) -> anyhow::Result<()> {
    match &spec.transport {
        Transport::Udp(addr) => {
            let socket = udp_socket(*addr)?;
            tokio::spawn(receive_datagrams(socket, queues.udp, limits, counters));
        }
        Transport::TcpListen(addr) => {
            let listener = TcpListener::bind(addr).await?;
            tokio::spawn(accept(listener, queues.tcp, limits, counters));
        }
        Transport::TcpConnect(addr) => {
            tokio::spawn(connect(addr.clone(), queues.tcp, limits, counters));
        }
    }
    Ok(())
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, None)?;
    // Best effort: a smaller buffer only means earlier kernel drops under a burst.
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        eprintln!("caveat feed on {addr}: could not enlarge the receive buffer: {e}");
    }
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

/// Each datagram is whole lines (a line never spans datagrams in NMEA over UDP).
async fn receive_datagrams(
    socket: UdpSocket,
    queue: broadcast::Sender<Arc<Chunk>>,
    limits: FeedLimits,
    counters: Arc<Counters>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut framer = LineFramer::new(limits.max_line_bytes);
    loop {
        let n = match socket.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                eprintln!("caveat feed: receiving a datagram: {e}");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        let (received, at) = (Instant::now(), OffsetDateTime::now_utc());
        let before = framer.too_long();
        let mut text = Vec::with_capacity(n + 1);
        let mut add = |l: &[u8]| {
            text.extend_from_slice(l);
            text.push(b'\n');
        };
        framer.push(buf.get(..n).unwrap_or(&[]), &mut add);
        framer.finish(&mut add);
        Counters::add(&counters.too_long, framer.too_long() - before);
        if text.is_empty() {
            continue;
        }
        // Counted before it is sent, so that a reader of `/metrics` never sees
        // it decoded or dropped before it was queued.
        Counters::add(&counters.queued_datagrams, 1);
        // `send` fails only once the decoder is gone, with the process.
        if queue.send(Arc::new(Chunk { text, received, at })).is_err() {
            return;
        }
    }
}

async fn accept(listener: TcpListener, queue: mpsc::Sender<Chunk>, limits: FeedLimits, counters: Arc<Counters>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // Past the limit a connection is closed at once: the feeds already
        // connected keep their share of the decoder.
        let (stream, slot) =
            crate::admit::next(&listener, &slots, "feed", || Counters::add(&counters.connections_refused, 1)).await;
        let (queue, counters) = (queue.clone(), counters.clone());
        tokio::spawn(async move {
            read_stream(stream, &queue, limits, &counters).await;
            drop(slot);
        });
    }
}

/// Keeps a connection to `addr` open, waiting `backoff_min`, then twice as
/// long each failure up to `backoff_max` (with jitter, so many hubs do not
/// reconnect in step), between attempts; a connection that delivered data
/// starts the waits again from `backoff_min`.
async fn connect(addr: String, queue: mpsc::Sender<Chunk>, limits: FeedLimits, counters: Arc<Counters>) {
    let mut backoff = limits.backoff_min;
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            Counters::add(&counters.reconnects, 1);
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
            Ok(Ok(stream)) => {
                if read_stream(stream, &queue, limits, &counters).await > 0 {
                    backoff = limits.backoff_min;
                }
            }
            Ok(Err(e)) => eprintln!("caveat feed: connecting to {addr}: {e}"),
            Err(_) => eprintln!("caveat feed: connecting to {addr}: no answer in {}s", CONNECT_TIMEOUT.as_secs()),
        }
        if queue.is_closed() {
            return;
        }
        tokio::time::sleep(backoff.mul_f64(0.5 + rand::random::<f64>() / 2.0)).await;
        backoff = (backoff * 2).min(limits.backoff_max);
    }
}

/// Reads lines until the peer closes, falls silent for `idle_timeout`, or
/// errs; queues them, waiting while the queue is full (TCP backpressure).
/// Returns the bytes read.
async fn read_stream(
    mut stream: TcpStream,
    queue: &mpsc::Sender<Chunk>,
    limits: FeedLimits,
    counters: &Counters,
) -> u64 {
    Counters::add(&counters.connections, 1);
    let mut framer = LineFramer::new(limits.max_line_bytes);
    let mut buf = vec![0u8; 16_384];
    let mut total = 0u64;
    let mut open = true;
    while open {
        let n = match tokio::time::timeout(limits.idle_timeout, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => 0,
        };
        total += n as u64;
        let before = framer.too_long();
        let mut text = Vec::new();
        let mut add = |l: &[u8]| {
            text.extend_from_slice(l);
            text.push(b'\n');
        };
        if n == 0 {
            framer.finish(&mut add);
            open = false;
        } else {
            framer.push(buf.get(..n).unwrap_or(&[]), &mut add);
        }
        Counters::add(&counters.too_long, framer.too_long() - before);
        if !text.is_empty() {
            let chunk = Chunk { text, received: Instant::now(), at: OffsetDateTime::now_utc() };
            if queue.send(chunk).await.is_err() {
                break;
            }
        }
    }
    counters.connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    total
}
