//! Connection slots for `caveat serve`: a bound on open connections that slow
//! clients cannot use to starve the hub.
//!
//! Every accepted connection takes a slot before anything else happens (TLS
//! handshake included). A connection is *waiting* from accept until its first
//! request is dispatched, and *serving* after. When all slots are taken, a new
//! connection evicts the longest-waiting one: a client that sends its request
//! at once (a health check, an API call) always gets in, and only a client
//! still dawdling over a handshake or headers loses its slot. Only when every
//! slot is serving is the new connection refused: on plain HTTP with an
//! immediate `503` in the error envelope, with `Retry-After`; on TLS by closing
//! it, since nothing can be said before a handshake.
//!
//! Each slot also has an idle timeout: a connection that moves no byte either
//! way for that long is closed. This bounds idle HTTP/2 connections, clients
//! that stop reading their answer, and peers that vanished (half-open TCP),
//! which hyper's own timers do not cover.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The refusal sent on plain HTTP when every slot is serving.
const REFUSAL_BODY: &str =
    r#"{"error":{"code":"unavailable","message":"the hub is at its connection limit; retry shortly"}}"#;

/// How long a refused connection may take to receive its refusal and close:
/// it holds no slot, only a task and a socket.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// The slots of one server.
#[derive(Debug)]
pub(crate) struct Slots {
    max: usize,
    idle: Duration,
    table: Mutex<Table>,
    /// Whether a refusal was logged since a connection last got a slot, so a
    /// flood logs one line, not one per connection.
    refusing: AtomicBool,
}

#[derive(Debug, Default)]
struct Table {
    /// Connections holding a slot, by connection id.
    conns: HashMap<u64, Conn>,
    /// Waiting connections by the time they started waiting, oldest first:
    /// sequence number to connection id.
    waiting: BTreeMap<u64, u64>,
    /// The next connection id and waiting sequence number.
    next: u64,
}

impl Table {
    fn next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

#[derive(Debug)]
struct Conn {
    /// Requests in flight, counting a response until its body is sent.
    busy: usize,
    /// Its key in `waiting` while no request is in flight.
    waiting_since: Option<u64>,
    eviction: Arc<Eviction>,
}

/// How a waiting connection is told it lost its slot.
#[derive(Debug, Default)]
struct Eviction {
    evicted: AtomicBool,
    waker: AtomicWaker,
}

impl Slots {
    pub(crate) fn new(max: usize, idle: Duration) -> Arc<Slots> {
        Arc::new(Slots { max, idle, table: Mutex::default(), refusing: AtomicBool::new(false) })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // Each update leaves the table consistent, so a panicking holder cannot break it.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection, evicting the longest-waiting one if need be.
    fn take(self: &Arc<Self>) -> Option<Slot> {
        let mut table = self.table();
        if table.conns.len() >= self.max {
            let (_, oldest) = table.waiting.pop_first()?;
            // Its slot passes to the new connection; it fails at its next read or write.
            if let Some(evicted) = table.conns.remove(&oldest) {
                evicted.eviction.evicted.store(true, Ordering::Release);
                evicted.eviction.waker.wake();
            }
        }
        let (id, since) = (table.next(), table.next());
        let eviction = Arc::new(Eviction::default());
        table.conns.insert(id, Conn { busy: 0, waiting_since: Some(since), eviction: eviction.clone() });
        table.waiting.insert(since, id);
        Some(Slot { slots: self.clone(), id, eviction })
    }
}

/// One connection's slot, released when the connection closes.
#[derive(Debug)]
struct Slot {
    slots: Arc<Slots>,
    id: u64,
    eviction: Arc<Eviction>,
}

impl Slot {
    /// A request is dispatched: the connection cannot be evicted until it is answered.
    fn begin(&self) {
        let mut table = self.slots.table();
        let Some(conn) = table.conns.get_mut(&self.id) else { return };
        conn.busy += 1;
        if let Some(since) = conn.waiting_since.take() {
            table.waiting.remove(&since);
        }
    }

    /// A response is sent (or abandoned).
    fn end(&self) {
        let mut table = self.slots.table();
        let since = table.next();
        let Some(conn) = table.conns.get_mut(&self.id) else { return };
        conn.busy = conn.busy.saturating_sub(1);
        if conn.busy == 0 && conn.waiting_since.is_none() {
            conn.waiting_since = Some(since);
            table.waiting.insert(since, self.id);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.slots.table();
        if let Some(conn) = table.conns.remove(&self.id)
            && let Some(since) = conn.waiting_since
        {
            table.waiting.remove(&since);
        }
    }
}

/// The acceptor: takes a slot, then hands the connection to `inner`
/// (nothing for plain HTTP, the TLS handshake for HTTPS).
#[derive(Debug, Clone)]
pub(crate) struct Admit<A> {
    inner: A,
    slots: Arc<Slots>,
    /// Whether a refused connection gets a plain-text HTTP `503`.
    answer_refusals: bool,
}

impl<A> Admit<A> {
    pub(crate) fn new(inner: A, slots: Arc<Slots>, answer_refusals: bool) -> Admit<A> {
        Admit { inner, slots, answer_refusals }
    }
}

type Accepted<T, S> = Pin<Box<dyn Future<Output = io::Result<(T, S)>> + Send>>;

impl<A, S> Accept<TcpStream, S> for Admit<A>
where
    A: Accept<Guarded, Dispatch<S>>,
    A::Future: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Accepted<A::Stream, A::Service>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let Some(slot) = self.slots.take() else {
            if !self.slots.refusing.swap(true, Ordering::Relaxed) {
                eprintln!("caveat: all {} connection slots are serving; refusing new connections", self.slots.max);
            }
            let answer = self.answer_refusals;
            return Box::pin(async move {
                if answer {
                    // Best effort: the client may be gone or never read.
                    let _ignored = tokio::time::timeout(REFUSAL_TIME, refuse(stream)).await;
                }
                Err(io::Error::other("connection limit reached"))
            });
        };
        self.slots.refusing.store(false, Ordering::Relaxed);
        let slot = Arc::new(slot);
        let idle = self.slots.idle;
        let stream = Guarded { inner: stream, slot: slot.clone(), idle, timer: Box::pin(tokio::time::sleep(idle)) };
        Box::pin(self.inner.accept(stream, Dispatch { inner: service, slot }))
    }
}

/// Writes the 503, then reads what the client sent until it closes, so the
/// answer is not lost to a reset from unread request bytes.
async fn refuse(mut stream: TcpStream) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        REFUSAL_BODY.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(REFUSAL_BODY.as_bytes()).await?;
    stream.shutdown().await?;
    let mut sink = [0u8; 4096];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

/// The service of one connection: counts its requests in flight, each until
/// its response body is sent, so the slot is evictable only when idle.
#[derive(Debug, Clone)]
pub(crate) struct Dispatch<S> {
    inner: S,
    slot: Arc<Slot>,
}

/// One request in flight on a slot.
#[derive(Debug)]
struct InFlight(Arc<Slot>);

impl InFlight {
    fn new(slot: Arc<Slot>) -> InFlight {
        slot.begin();
        InFlight(slot)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

type Answer<B, E> = Pin<Box<dyn Future<Output = Result<axum::http::Response<Tracked<B>>, E>> + Send>>;

impl<S, R, B> tower::Service<R> for Dispatch<S>
where
    S: tower::Service<R, Response = axum::http::Response<B>>,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = axum::http::Response<Tracked<B>>;
    type Error = S::Error;
    type Future = Answer<B, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let in_flight = InFlight::new(self.slot.clone());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let res = answer.await?;
            Ok(res.map(|inner| Tracked { inner, _in_flight: in_flight }))
        })
    }
}

/// A response body that keeps its request in flight until it is sent or dropped.
#[derive(Debug)]
pub(crate) struct Tracked<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B: http_body::Body + Unpin> http_body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection holding a slot: fails once evicted, or once idle too long.
#[derive(Debug)]
pub(crate) struct Guarded {
    inner: TcpStream,
    slot: Arc<Slot>,
    idle: Duration,
    /// When the connection counts as idle; pushed back by every byte moved.
    timer: Pin<Box<Sleep>>,
}

impl Guarded {
    fn moved(&mut self) {
        self.timer.as_mut().reset(Instant::now() + self.idle);
    }

    /// After the inner stream is not ready: whether to give up on the connection.
    fn stalled(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let eviction = &self.slot.eviction;
        eviction.waker.register(cx.waker());
        if eviction.evicted.load(Ordering::Acquire) {
            return Some(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "evicted: its slot went to a newer connection",
            ));
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            return Some(io::Error::new(io::ErrorKind::TimedOut, "idle timeout"));
        }
        None
    }

    /// A write's outcome: bytes written count as movement; a pending write
    /// past the idle time fails the connection.
    fn written(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Pending => match self.stalled(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.moved();
                }
                Poll::Ready(r)
            }
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => match self.stalled(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(r)
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.written(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.written(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evicted(slot: &Slot) -> bool {
        slot.eviction.evicted.load(Ordering::Acquire)
    }

    #[test]
    fn a_full_table_evicts_the_longest_waiting_connection_and_refuses_when_all_serve() {
        let slots = Slots::new(2, Duration::from_mins(1));
        let first = Arc::new(slots.take().unwrap());
        let second = Arc::new(slots.take().unwrap());
        let third = Arc::new(slots.take().unwrap());
        assert!(evicted(&first) && !evicted(&second), "the oldest waiting one goes");
        drop(first); // its slot already went to `third`
        assert_eq!(slots.table().conns.len(), 2);
        let (busy_second, busy_third) = (InFlight::new(second.clone()), InFlight::new(third.clone()));
        assert!(slots.take().is_none(), "every slot is answering a request: refuse");
        // Answered, `second` waits again (for its next request) and is evictable.
        drop(busy_second);
        let fourth = slots.take().unwrap();
        assert!(evicted(&second) && !evicted(&third) && !evicted(&fourth));
        drop((busy_third, third));
        assert!(slots.take().is_some(), "a closed connection frees its slot");
    }

    /// A server-side socket in a slot of `slots`, and the client end.
    async fn guarded(slots: &Arc<Slots>) -> (Guarded, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let slot = Arc::new(slots.take().unwrap());
        let idle = slots.idle;
        (Guarded { inner: server, slot, idle, timer: Box::pin(tokio::time::sleep(idle)) }, client)
    }

    #[tokio::test]
    async fn a_silent_connection_fails_after_the_idle_timeout_and_traffic_keeps_it_open() {
        let slots = Slots::new(4, Duration::from_millis(300));
        let (mut server, mut client) = guarded(&slots).await;
        let started = Instant::now();
        client.write_all(b"x").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(server.read(&mut buf).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.write_all(b"y").await.unwrap();
        assert_eq!(server.read(&mut buf).await.unwrap(), 1);
        let err = server.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(500), "the byte at 200 ms did not count");
    }

    #[tokio::test]
    async fn an_evicted_connection_fails_its_pending_read_at_once() {
        let slots = Slots::new(1, Duration::from_mins(1));
        let (mut server, _client) = guarded(&slots).await;
        let read = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            server.read(&mut buf).await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _newcomer = slots.take().unwrap();
        let res = tokio::time::timeout(Duration::from_secs(5), read).await.unwrap().unwrap();
        assert_eq!(res.unwrap_err().kind(), io::ErrorKind::ConnectionAborted);
    }
}
