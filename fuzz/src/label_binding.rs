//! Properties, for any byte string:
//! - read as a STANAG 4778 binding data object, it is refused with a typed
//!   error or read; one that is read writes back to JSON that reads to the
//!   same JSON, and never verifies under a key that did not sign it (nor
//!   panics trying);
//! - taken as data, a binding signed over it verifies and yields the label
//!   signed, and does not verify over the data with any byte changed.

use std::sync::OnceLock;

use caveat_audit::SigningKey;
use caveat_hub::label::{Binding, LabelPolicy};
use time::macros::datetime;

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed("fuzz.caveat", [7; 32]).unwrap())
}

/// The property; see the module's documentation.
pub fn label_binding(data: &[u8]) {
    let key = key();
    let verifier = key.verifier_key();
    if let Ok(b) = Binding::parse(data) {
        let json = b.to_json().unwrap();
        let again = Binding::parse(json.as_bytes()).unwrap();
        assert_eq!(again.to_json().unwrap(), json);
        assert!(b.verify(&verifier, data).is_err(), "an object from the fuzzer verified under the fuzz key");
    }

    let gbr = "GBR".parse().unwrap();
    let label = LabelPolicy::default().label([&gbr], None, datetime!(2026-11-23 12:00 UTC));
    let signed = Binding::sign(key, label.clone(), "application/geo+json", data).unwrap();
    let read = Binding::parse(signed.to_json().unwrap().as_bytes()).unwrap();
    assert_eq!(read.verify(&verifier, data).unwrap(), label);
    if let Some((i, &byte)) = data.iter().enumerate().next_back() {
        let mut changed = data.to_vec();
        changed[i] = byte ^ 1;
        assert!(read.verify(&verifier, &changed).is_err(), "a changed byte still verified");
    }
    let mut longer = data.to_vec();
    longer.push(0);
    assert!(read.verify(&verifier, &longer).is_err(), "a longer file still verified");
}
