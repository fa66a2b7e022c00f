//! Prints the API's OpenAPI document, as served at `/openapi.json`:
//! `cargo run -q -p caveat-server --example openapi > docs/openapi.json`.

fn main() {
    print!("{}", caveat_server::openapi_json());
}
