//! Pure, I/O-free value encoders for s3db: base62, metadata encoding, embeddings, ip/uuid packing and secrets.
