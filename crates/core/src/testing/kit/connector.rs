//! Checks of the connector as a whole: example config, good config, declared capabilities,
//! `check` with good and with bad credentials.

use std::sync::Arc;

use super::capture::guarded;
use super::{Conformance, ConformanceReport};
use crate::connector::Connector;
use crate::error::Error;

impl Conformance {
    /// The checks of the connector as a whole: its example config, the good config, the
    /// capabilities against the endpoints, `check` with good and with bad credentials.
    /// Returns the connector built from the good config (none when it does not build).
    pub(super) async fn config_checks(
        &self,
        report: &mut ConformanceReport,
        dispatch: &tracing::Dispatch,
    ) -> Option<Arc<dyn Connector>> {
        let d = self.descriptor;
        // example config
        let example = (|| -> std::result::Result<String, String> {
            let table: toml::Table =
                toml::from_str((d.example_config)()).map_err(|e| format!("example is not TOML: {e}"))?;
            let value = serde_json::to_value(table).map_err(|e| e.to_string())?;
            // the runner strips `type = "<name>"` before handing the table to the connector
            let value = crate::wire::without_type(value, d.name);
            (d.validate)(&value).map_err(|e| format!("validate: {e}"))?;
            (d.factory)(value, &self.context).map_err(|e| format!("factory: {e}"))?;
            Ok("parses, validates, builds".into())
        })();
        report.push("example_config", example);

        let good = match (d.validate)(&self.good_config)
            .and_then(|_| (d.factory)(self.good_config.clone(), &self.context))
        {
            Ok(c) => c,
            Err(e) => {
                report.push("good_config", Err(format!("does not build: {e}")));
                return None;
            }
        };

        // capabilities match the endpoints
        let (mut srcs, mut snks) = good.endpoints().kinds();
        let (mut dsrc, mut dsnk) = (d.capabilities.sources.to_vec(), d.capabilities.sinks.to_vec());
        srcs.sort();
        snks.sort();
        dsrc.sort();
        dsnk.sort();
        report.push(
            "capabilities",
            if (srcs.clone(), snks.clone()) == (dsrc.clone(), dsnk.clone()) {
                Ok(format!("sources {srcs:?}, sinks {snks:?}"))
            } else {
                Err(format!(
                    "descriptor says sources {dsrc:?} sinks {dsnk:?}, endpoints offer sources {srcs:?} sinks {snks:?}"
                ))
            },
        );

        let c = good.clone();
        let checked = guarded(dispatch, async move { c.check().await }).await;
        report.push(
            "check_ok",
            match checked {
                Ok(Ok(r)) => Ok(r.checks.join("; ")),
                Ok(Err(e)) => Err(format!("check failed with good credentials: {e}")),
                Err(p) => Err(p),
            },
        );

        let bad = match (d.factory)(self.bad_credentials_config.clone(), &self.context) {
            Ok(c) => {
                let checked = guarded(dispatch, async move { c.check().await }).await;
                match checked {
                    Ok(Err(Error::Auth { message })) => Ok(format!("Error::Auth: {message}")),
                    Ok(Err(e)) => Err(format!("expected Error::Auth, got {} error: {e}", e.class())),
                    Ok(Ok(_)) => Err("check passed with bad credentials".into()),
                    Err(p) => Err(p),
                }
            }
            Err(e) => Err(format!(
                "bad-credentials config does not build (it should, and fail at check): {e}"
            )),
        };
        report.push("bad_credentials", bad);

        Some(good)
    }
}
