//! Progress display of `koppel run`: bars on a terminal, log lines otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use koppel_core::engine::{Flow, Progress};

/// Progress display: bars on a terminal, log lines otherwise.
pub struct ProgressUi {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<(String, Flow), ProgressBar>>,
}

impl ProgressUi {
    /// Bars when stdout is a terminal and `enabled`.
    pub fn new(enabled: bool) -> Arc<Self> {
        let multi = (enabled && std::io::stdout().is_terminal()).then(MultiProgress::new);
        Arc::new(ProgressUi {
            multi,
            bars: Mutex::new(HashMap::new()),
        })
    }

    /// The callback for the engine.
    pub fn callback(self: &Arc<Self>) -> koppel_core::engine::ProgressFn {
        let me = self.clone();
        Arc::new(move |p: Progress| me.update(p))
    }

    fn update(&self, p: Progress) {
        let msg = format!(
            "read {} · created {} · updated {} · unchanged {} · quarantined {}",
            p.read, p.created, p.updated, p.unchanged, p.quarantined
        );
        let Some(multi) = &self.multi else {
            // Not a terminal: the engine logs each finished flow; pages only at debug level.
            tracing::debug!(pair = %p.pair, flow = %p.flow, read = p.read, done = p.done, "progress");
            return;
        };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry((p.pair.clone(), p.flow)).or_insert_with(|| {
            let b = multi.add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:>24} {elapsed:>4} {msg}") {
                b.set_style(style);
            }
            b.set_prefix(format!("{}/{}", p.pair, p.flow));
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if p.done {
            bar.finish_with_message(msg);
        } else {
            bar.set_message(msg);
        }
    }

    /// Clears the bars (before the summary is printed).
    pub fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        for b in bars.values() {
            if !b.is_finished() {
                b.finish();
            }
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}
