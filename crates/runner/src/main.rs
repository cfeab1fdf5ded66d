//! The `koppel` command. See `koppel --help`.

// Name the connector crates here too: the registry must hold them in this binary.
extern crate koppel_magento;
extern crate koppel_snelstart;

fn main() {
    std::process::exit(koppel::app::main());
}
