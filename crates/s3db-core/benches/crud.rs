//! CRUD throughput on the memory backend (filled in below).

fn main() {}
