#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| s3db_fuzz::object_header(data));
