//! Logs: tracing to stderr, human-readable or JSON, filtered like `RUST_LOG`, with every known
//! secret of the loaded config replaced by `***` before a line is written.

use std::io::Write;
use std::sync::{OnceLock, RwLock};

use koppel_core::secret::Redactor;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per event (for journald, Loki, Elastic).
    Json,
}

static REDACTOR: OnceLock<RwLock<Redactor>> = OnceLock::new();

fn redactor() -> &'static RwLock<Redactor> {
    REDACTOR.get_or_init(|| RwLock::new(Redactor::default()))
}

/// Adds the secrets of a loaded config to the log redactor.
pub fn add_secrets(r: &Redactor) {
    let mut guard = redactor().write().unwrap_or_else(|p| p.into_inner());
    *guard = r.clone();
}

/// Redacts text with the secrets known so far.
pub fn redact(text: &str) -> String {
    redactor().read().unwrap_or_else(|p| p.into_inner()).redact(text)
}

/// Writes to stderr through the redactor.
pub struct RedactingWriter;

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

struct MakeRedacting;

impl<'a> MakeWriter<'a> for MakeRedacting {
    type Writer = RedactingWriter;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter
    }
}

/// Installs the global subscriber. `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MakeRedacting)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
