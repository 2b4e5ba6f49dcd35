//! Cost of secret encryption and decryption: warm (key cached) versus cold (PBKDF2 with
//! 100 000 iterations, what s3db.js pays on every call).
#![allow(clippy::unwrap_used)]
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use s3db_codec::secret::Secrets;
use std::hint::black_box;

fn warm(c: &mut Criterion) {
    let secrets = Secrets::new("bench-passphrase");
    let stored = secrets.encrypt("sk-live-123456").unwrap();
    c.bench_function("secret/encrypt_warm", |b| {
        b.iter(|| secrets.encrypt(black_box("sk-live-123456")).unwrap())
    });
    c.bench_function("secret/decrypt_warm", |b| {
        b.iter(|| secrets.decrypt(black_box(&stored)).unwrap())
    });
}

fn cold(c: &mut Criterion) {
    let stored = Secrets::new("bench-passphrase")
        .encrypt("sk-live-123456")
        .unwrap();
    let mut group = c.benchmark_group("secret_cold");
    group.sample_size(10);
    group.bench_function("decrypt_new_salt", |b| {
        b.iter(|| {
            Secrets::new("bench-passphrase")
                .decrypt(black_box(&stored))
                .unwrap()
        })
    });
    group.bench_function("first_encrypt", |b| {
        b.iter(|| {
            Secrets::new("bench-passphrase")
                .encrypt(black_box("sk-live-123456"))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, warm, cold);
criterion_main!(benches);
