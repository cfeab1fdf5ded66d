//! The simulators as `koppel demo` and `koppel sandbox` use them: started on loopback, seeded,
//! with the service articles (shipping, discount, payment fee) created in SnelStart the way a
//! user would, and a config that points koppel at them.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use koppel_core::engine::{Flow, FlowOptions};
use koppel_core::registry::{self, Role};
use koppel_sandbox::control::{Faults, Running};
use koppel_sandbox::registry::{self as simulators, ShopConfigArgs, ShopSimOptions, ShopSimulator};
use koppel_sandbox::seed::SeedConfig;
use koppel_sandbox::snelstart::{self, RateLimits, SnelStartOptions};
use serde_json::{json, Value};

/// Service articles the orders flow books shipping, discounts, payment fees and other charges
/// on: (artikelcode, omschrijving, VAT kind of its article group).
pub const SERVICE_ARTICLES: [(&str, &str, &str); 4] = [
    ("VERZEND", "Verzendkosten", "Hoog"),
    ("KORTING", "Korting", "Hoog"),
    ("BETAALKOSTEN", "Betaalkosten", "Hoog"),
    ("HEFFING", "Heffingen (zonder btw)", "Geen"),
];

/// Request limits of the simulated SnelStart administration (and of the connector's client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Limits {
    /// SnelStart's production limits: 500 calls/min, 5,000/hour, 50 concurrent.
    #[default]
    Production,
    /// SnelStart's test-key limits: 100/min, 1,000/hour, 5 concurrent.
    Test,
    /// No limits (demos and tests).
    Unlimited,
}

/// What to seed and how the simulators behave.
#[derive(Debug, Clone)]
pub struct SimSetup {
    /// Articles in SnelStart.
    pub articles: usize,
    /// Orders in the shop.
    pub orders: usize,
    /// Seed (same seed, same data).
    pub seed: u64,
    /// Added latency per request.
    pub latency_ms: u64,
    /// Rate limits.
    pub limits: Limits,
}

/// The running simulators.
pub struct Sims {
    /// The SnelStart simulator.
    pub snelstart: Running,
    /// The shop simulator.
    pub shop: Running,
    /// The shop connector type: the name of its registered simulator
    /// ([`koppel_sandbox::registry`]).
    pub shop_type: &'static str,
    /// The variant the shop simulator runs as (one of its registered variants; `""` for a
    /// simulator without variants).
    pub shop_variant: &'static str,
    /// The setup they were started with.
    pub setup: SimSetup,
}

impl Sims {
    /// The shop simulator as `--shop` spells it: `prestashop`, or `prestashop:1.7` for a
    /// variant other than the default.
    pub fn shop_label(&self) -> String {
        match simulators::find_shop(self.shop_type) {
            Some(sim) => label(sim, self.shop_variant),
            None => self.shop_type.to_owned(),
        }
    }
}

/// The names of the shop simulators this koppel can serve (registered with
/// [`koppel_sandbox::registry`]), sorted.
pub fn shop_simulators() -> Vec<&'static str> {
    simulators::shops().iter().map(|s| s.name).collect()
}

/// The shop simulator registered as `name`, or an error naming those there are.
pub fn shop_simulator(name: &str) -> Result<&'static ShopSimulator, String> {
    simulators::find_shop(name).ok_or_else(|| {
        format!(
            "no simulator for shop {name:?}; available: {}",
            shop_simulators().join(", ")
        )
    })
}

/// A shop simulator and the variant chosen of it: `--shop <name>[:<variant>]`.
#[derive(Debug, Clone, Copy)]
pub struct ShopChoice {
    /// The registered simulator.
    pub sim: &'static ShopSimulator,
    /// One of its registered variants (the default when none was written; `""` for a
    /// simulator without variants).
    pub variant: &'static str,
}

impl ShopChoice {
    /// How `--shop` spells it: the name, with `:<variant>` unless it is the default.
    pub fn label(&self) -> String {
        label(self.sim, self.variant)
    }
}

fn label(sim: &ShopSimulator, variant: &str) -> String {
    if variant == sim.default_variant() {
        sim.name.to_owned()
    } else {
        format!("{}:{variant}", sim.name)
    }
}

/// Parses `<name>` or `<name>:<variant>` into a registered simulator and one of its
/// variants; the error names the simulators, or the variants, there are.
pub fn shop_choice(spec: &str) -> Result<ShopChoice, String> {
    let (name, variant) = spec.split_once(':').unwrap_or((spec, ""));
    let sim = shop_simulator(name)?;
    let variant = sim
        .variant(variant)
        .map_err(|e| format!("--shop {spec:?}: {e}"))?;
    Ok(ShopChoice { sim, variant })
}

/// Refuses anything but a loopback address.
pub fn loopback(addr: &str) -> Result<SocketAddr, String> {
    let a: SocketAddr = addr
        .parse()
        .map_err(|e| format!("{addr:?} is not an address like 127.0.0.1:8081: {e}"))?;
    if !a.ip().is_loopback() {
        return Err(format!(
            "{addr}: the simulators only listen on loopback (127.0.0.1 or ::1), never on a network"
        ));
    }
    Ok(a)
}

fn seed_config(s: &SimSetup) -> SeedConfig {
    SeedConfig {
        articles: s.articles,
        orders: s.orders,
        customers: (s.orders * 2 / 5).max(1),
        seed: s.seed,
    }
}

/// Starts both simulators and creates the service articles. `shop` is a shop simulator's
/// name, or `<name>:<variant>` ([`shop_choice`]).
pub async fn start(
    snelstart_addr: SocketAddr,
    shop: &str,
    shop_addr: SocketAddr,
    setup: SimSetup,
) -> Result<Sims, String> {
    let choice = shop_choice(shop)?;
    let shop_sim = choice.sim;
    let shop_type = shop_sim.name;
    let shop_label = choice.label();
    let faults = Faults {
        latency_ms: setup.latency_ms,
        ..Faults::default()
    };
    let snel = snelstart::start(
        snelstart_addr,
        SnelStartOptions {
            seed: seed_config(&setup),
            rate_limits: match setup.limits {
                Limits::Production => RateLimits::PRODUCTION,
                Limits::Test => RateLimits::TEST,
                Limits::Unlimited => RateLimits::UNLIMITED,
            },
            faults: faults.clone(),
            ..SnelStartOptions::default()
        },
    )
    .await
    .map_err(|e| format!("cannot start the SnelStart simulator on {snelstart_addr}: {e}"))?;
    let shop = (shop_sim.start)(
        shop_addr,
        ShopSimOptions {
            seed: seed_config(&setup),
            variant: choice.variant,
        },
    )
    .await
    .map_err(|e| format!("cannot start the {shop_label} simulator on {shop_addr}: {e}"))?;
    shop.control.set_faults(faults);
    create_service_articles(&snel.base_url()).await?;
    Ok(Sims {
        snelstart: snel,
        shop,
        shop_type,
        shop_variant: choice.variant,
        setup,
    })
}

/// A SnelStart API client for set-up steps (token, subscription key).
pub struct SnelStartAdmin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl SnelStartAdmin {
    /// Logs in to the simulator at `base`.
    pub async fn login(base: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let resp = http
            .post(format!("{base}/b2b/token"))
            .form(&[("grant_type", "clientkey"), ("clientkey", snelstart::CLIENT_KEY)])
            .send()
            .await
            .map_err(|e| format!("SnelStart simulator token: {e}"))?;
        let body: Value = resp
            .json()
            .await
            .map_err(|e| format!("SnelStart simulator token: {e}"))?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| format!("SnelStart simulator token: unexpected answer {body}"))?
            .to_owned();
        Ok(SnelStartAdmin {
            http,
            base: base.to_owned(),
            token,
        })
    }

    /// Sends a request to the API (`/v2...`) or a control endpoint (`/_sandbox/...`).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Ocp-Apim-Subscription-Key", snelstart::SUBSCRIPTION_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("{method} {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{method} {path}: HTTP {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))
    }
}

/// Creates the service articles in SnelStart (VAT high), as a user does once before the
/// first order sync.
pub async fn create_service_articles(base: &str) -> Result<(), String> {
    let admin = SnelStartAdmin::login(base).await?;
    let groups = admin
        .call(reqwest::Method::GET, "/v2/artikelomzetgroepen", None)
        .await?;
    let group = |soort: &str| -> Result<String, String> {
        groups
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["verkoopNederlandBtwSoort"] == soort))
            .and_then(|g| g["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("the SnelStart simulator has no article group with VAT {soort}"))
    };
    for (code, name, soort) in SERVICE_ARTICLES {
        let group = group(soort)?;
        admin
            .call(
                reqwest::Method::POST,
                "/v2/artikelen",
                Some(json!({
                    "artikelcode": code,
                    "omschrijving": name,
                    "artikelOmzetgroep": {"id": group},
                    "verkoopprijs": 0,
                    "voorraadControle": false,
                    "isNonActief": false,
                })),
            )
            .await?;
    }
    Ok(())
}

/// A config for koppel pointing at the simulators. `state` is written as given.
pub fn config_toml(sims: &Sims, state: &str) -> String {
    config_toml_for(
        &sims.snelstart.base_url(),
        sims.shop_type,
        sims.shop_variant,
        &sims.shop.base_url(),
        sims.setup.limits,
        state,
    )
}

/// [`config_toml`] for simulators started some other way (a test that starts them with
/// options of its own): the SnelStart simulator at `snel`, the `shop_type` simulator (as
/// `shop_variant`, `""` for its default) at `shop`, both with `limits`.
pub fn config_toml_for(
    snel: &str,
    shop_type: &str,
    shop_variant: &'static str,
    shop: &str,
    limits: Limits,
    state: &str,
) -> String {
    let mut out = String::new();
    out.push_str("# koppel config for the simulators started by `koppel sandbox` / `koppel demo`.\n");
    out.push_str("# The keys below are the simulators' public sandbox credentials, not secrets;\n");
    out.push_str("# for a real shop take them from the environment (\"${VAR}\") or a `<key>_file`.\n");
    let _ = writeln!(out, "state = {}", toml_str(state));
    out.push_str("timezone = \"Europe/Amsterdam\"\n\n[[pairs]]\nname = \"sandbox\"\n\n");
    out.push_str("[pairs.accounting]\ntype = \"snelstart\"\n");
    let _ = writeln!(out, "client_key = {}", toml_str(snelstart::CLIENT_KEY));
    let _ = writeln!(
        out,
        "subscription_key = {}",
        toml_str(snelstart::SUBSCRIPTION_KEY)
    );
    let _ = writeln!(
        out,
        "api_base_url = \"{snel}/v2\"\nauth_url = \"{snel}/b2b/token\""
    );
    match limits {
        Limits::Production => out.push_str("key_kind = \"production\"\n"),
        Limits::Test => out.push_str("key_kind = \"test\"\n"),
        Limits::Unlimited => {
            out.push_str("# The simulator runs without limits; so does the client (demo speed).\n");
            out.push_str("rate_limits = { per_minute = 1000000, per_hour = 10000000, concurrent = 64 }\n");
        }
    }
    out.push_str("\n[pairs.accounting.products]\nweight = { extra_field = \"Gewicht\" }\ncategory = { extra_field = \"Categorie\" }\n");
    out.push_str("\n[pairs.accounting.orders]\nshipping_article = \"VERZEND\"\ndiscount_article = \"KORTING\"\npayment_fee_article = \"BETAALKOSTEN\"\nfee_article = \"HEFFING\"\n\n");
    let shop_sim = match shop_simulator(shop_type) {
        Ok(s) => s,
        // `Sims` built by hand for a shop without a registered simulator: no shop table.
        Err(e) => {
            let _ = writeln!(out, "# {e}");
            return out;
        }
    };
    let _ = writeln!(out, "[pairs.shop]\ntype = {}", toml_str(shop_sim.name));
    let body = (shop_sim.config)(&ShopConfigArgs {
        base_url: shop,
        unlimited: limits == Limits::Unlimited,
        variant: shop_variant,
    });
    out.push_str(&crate::init::nest_headers(body.trim_end(), "shop"));
    for (flow, schedule, options) in SANDBOX_FLOWS {
        if !flow_possible(*flow, shop_type, options) {
            let _ = writeln!(
                out,
                "\n# [pairs.flows.{flow}]: not possible with the {} connector",
                shop_type
            );
            continue;
        }
        let _ = writeln!(out, "\n[pairs.flows.{flow}]\nschedule = {}", toml_str(schedule));
        if *options {
            out.push_str("create_customers = true\n");
        }
    }
    out
}

/// The flows of the generated config, their schedules, and whether the orders flow creates
/// missing buyers.
const SANDBOX_FLOWS: &[(Flow, &str, bool)] = &[
    (Flow::Products, "15m", false),
    (Flow::Stock, "5m", false),
    (Flow::Customers, "5m", false),
    (Flow::Orders, "*/5 * * * *", true),
    (Flow::OpenAmounts, "30m", false),
    (Flow::Payments, "15m", false),
];

/// Whether the linked connectors can do `flow` between the accounting connector and `shop`.
fn flow_possible(flow: Flow, shop: &str, create_customers: &bool) -> bool {
    let accounting = registry::connectors()
        .into_iter()
        .find(|d| d.role == Role::Accounting);
    let shop = registry::find(shop);
    match (accounting, shop) {
        (Some(a), Some(s)) => {
            let options = FlowOptions {
                create_customers: *create_customers,
                ..FlowOptions::default()
            };
            crate::flows::possible(flow, a, s, &options).is_ok()
        }
        _ => true,
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}
