//! Running connector code under the kit's log capture: the buffer every log line goes to (for
//! the secrets check) and a guard that turns a panic into a failed check.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::instrument::WithSubscriber;

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
pub(super) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// Everything written so far, as (lossy) text.
    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs a future on its own task under the capturing subscriber; a panic becomes `Err`.
pub(super) async fn guarded<T: Send + 'static>(
    dispatch: &tracing::Dispatch,
    fut: impl Future<Output = T> + Send + 'static,
) -> std::result::Result<T, String> {
    match tokio::spawn(fut.with_subscriber(dispatch.clone())).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => Err("the connector panicked".into()),
        Err(e) => Err(format!("task failed: {e}")),
    }
}
