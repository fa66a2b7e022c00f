//! Accepting TCP connections under a bound, for the listeners that are not
//! HTTP (feeds, CoT): each connection takes a slot of a semaphore before
//! anything else; past the bound it is closed at once, so the connections
//! already open keep their share.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long to wait after a failed accept: the usual cause, too many open
/// files, does not clear at once, and retrying at once would spin a core.
const ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The next connection that gets a slot of `slots`, with its slot (held for
/// as long as the connection is served). `refused` is called for each one
/// closed for want of a slot; `what` names the listener in error messages.
pub(crate) async fn next(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
    what: &str,
    refused: impl Fn(),
) -> (TcpStream, OwnedSemaphorePermit) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                eprintln!("caveat {what}: accepting a connection: {e}");
                tokio::time::sleep(ERROR_PAUSE).await;
                continue;
            }
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => return (stream, slot),
            Err(_) => {
                refused();
                drop(stream);
            }
        }
    }
}
