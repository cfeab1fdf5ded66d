//! The `koppel` command. See `koppel --help`.

// The stock connectors (crates/connectors/Cargo.toml): the registry must hold them in this binary.
extern crate koppel_connectors;

fn main() {
    std::process::exit(koppel::app::main());
}
