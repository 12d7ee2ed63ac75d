#![no_main]
//! Whatever a client sends, parsing answers Ok or a 400, never a panic, and
//! a parsed request survives the proxy's rewriting.
use libfuzzer_sys::fuzz_target;
use selfbrake::rewrite::ChatRequest;

fuzz_target!(|data: &[u8]| {
    match ChatRequest::parse(data) {
        Ok(mut request) => {
            request.inject_system_prompt("Reason efficiently.");
            assert!(request.body["messages"]
                .as_array()
                .is_some_and(|m| !m.is_empty()));
        }
        Err(error) => assert_eq!(error.status(), 400),
    }
});
