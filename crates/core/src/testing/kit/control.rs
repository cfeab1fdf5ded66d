//! Hooks and mutators over the control endpoints of koppel's simulators (`koppel_sandbox`),
//! for tests that reach a simulator only by its URL.

use super::shop::{shop_churn, ShopChurn};
use super::{hook, Hook, Mutator};

/// Turns the simulator's malformed-record fault on (every list response) and off, by
/// `POST {base_url}/_sandbox/faults` (which also clears every other fault). Panics when the
/// simulator does not accept it.
pub fn malformed_fault(base_url: String) -> Hook<bool> {
    hook(move |on: bool| {
        let url = format!("{base_url}/_sandbox/faults");
        async move {
            let rate = if on { 1.0 } else { 0.0 };
            reqwest::Client::new()
                .post(&url)
                .json(&serde_json::json!({ "malformed_rate": rate }))
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        }
    })
}

/// [`shop_churn`] through a simulator's records control endpoint at `url` (the Magento and
/// OpenCart simulators' `/_sandbox/<shop>/records`): `POST {"resource", "change", "remove",
/// "add"}` answered with `{"added": [keys]}`. Panics when the simulator does not answer so.
pub fn records_churn(url: String) -> Mutator {
    shop_churn(move |c: ShopChurn| {
        let url = url.clone();
        async move {
            let body = serde_json::json!({
                "resource": c.resource, "change": c.change, "remove": c.remove, "add": c.add,
            });
            let answer: serde_json::Value = reqwest::Client::new()
                .post(&url)
                .json(&body)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .unwrap_or_else(|e| panic!("POST {url}: {e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("POST {url}: the answer is not JSON: {e}"));
            answer["added"]
                .as_array()
                .and_then(|keys| keys.iter().map(|k| k.as_str().map(str::to_owned)).collect())
                .unwrap_or_else(|| panic!("POST {url}: no list of added keys in {answer}"))
        }
    })
}
