//! Choosing a [`ValueKind`] from a fastest-validator definition string, the way s3db.js 21.6.2
//! picks its hooks (`Schema.generateAutoHooks`) and its mapper branches (`Schema.mapper`).

use super::ValueKind;

/// Default precision of fixed-point arrays (embeddings) and geo coordinates.
const DEFAULT_FIXED_PRECISION: u32 = 6;

/// Array length from which `array|items:number|length:N` is stored as a fixed-point embedding.
const EMBEDDING_MIN_LENGTH: u64 = 256;

pub(super) fn kind_of(def: &str) -> ValueKind {
    hooked_kind(def).unwrap_or_else(|| mapped_kind(def))
}

/// The hook-based encodings, tested as substrings in s3db.js's order.
fn hooked_kind(def: &str) -> Option<ValueKind> {
    if def.contains("embedding") {
        return Some(ValueKind::FixedPointArray {
            precision: DEFAULT_FIXED_PRECISION,
        });
    }
    if def.contains("array") {
        return Some(array_kind(def));
    }
    if let Some(item) = def.split('|').next().and_then(|t| t.strip_suffix("[]")) {
        // fastest-validator's `T[]` shorthand: s3db.js stores `String(array)` (lossy);
        // we store it like `array|items:T`.
        return Some(match item {
            "string" => ValueKind::StringArray,
            "number" if is_integer(def) => ValueKind::IntegerArray,
            "number" => ValueKind::NumberArray,
            _ => ValueKind::JsonArray,
        });
    }
    if def.contains("secret") {
        return Some(ValueKind::Secret);
    }
    if def.contains("password") {
        // s3db.js leaves password values untouched in the mapper (hashing is a validator step).
        return Some(ValueKind::String);
    }
    if def.contains("ip4") {
        return Some(ValueKind::Ip4);
    }
    if def.contains("ip6") {
        return Some(ValueKind::Ip6);
    }
    if def.contains("buffer") || def.contains("bits") {
        // Broken in s3db.js 21.6.2 (a Buffer is flattened into `v_0`, `v_1`… entries); we keep
        // whatever JSON value is given as JSON text.
        return Some(ValueKind::Json);
    }
    if def.contains("money") || def.contains("crypto") {
        let default = if def.contains("crypto") { 8 } else { 2 };
        let lower = def.to_ascii_lowercase();
        let decimals = first_number_after_any(&lower, &["money:", "crypto:"]).unwrap_or(default);
        return Some(ValueKind::Money { decimals });
    }
    if def.contains("decimal") {
        let precision = first_number_after_any(def, &["decimal:"]).unwrap_or(2);
        return Some(ValueKind::Decimal { precision });
    }
    if def == "text" || def.starts_with("text|") {
        // s3db.js compresses `text`, but its validator rejects the type: plain strings here.
        return Some(ValueKind::String);
    }
    if def.contains("geo:lat") {
        let precision =
            first_number_after_any(def, &["geo:lat:"]).unwrap_or(DEFAULT_FIXED_PRECISION);
        return Some(ValueKind::GeoLat { precision });
    }
    if def.contains("geo:lon") {
        let precision =
            first_number_after_any(def, &["geo:lon:"]).unwrap_or(DEFAULT_FIXED_PRECISION);
        return Some(ValueKind::GeoLon { precision });
    }
    if def.contains("geo:point") {
        let precision =
            first_number_after_any(def, &["geo:point:"]).unwrap_or(DEFAULT_FIXED_PRECISION);
        return Some(ValueKind::GeoPoint { precision });
    }
    if def.contains("number") {
        return Some(if is_integer(def) {
            ValueKind::Integer
        } else {
            ValueKind::Number
        });
    }
    if def.contains("bool") {
        return Some(ValueKind::Boolean);
    }
    if def.contains("json") {
        return Some(ValueKind::Json);
    }
    if def.contains("object") {
        return Some(ValueKind::Object);
    }
    None
}

fn array_kind(def: &str) -> ValueKind {
    if def.contains("items:string") {
        return ValueKind::StringArray;
    }
    if !def.contains("items:number") {
        return ValueKind::JsonArray;
    }
    if is_integer(def) {
        return ValueKind::IntegerArray;
    }
    let long = first_number_after_any(def, &["length:"])
        .is_some_and(|n| u64::from(n) >= EMBEDDING_MIN_LENGTH);
    if long {
        ValueKind::FixedPointArray {
            precision: DEFAULT_FIXED_PRECISION,
        }
    } else {
        ValueKind::NumberArray
    }
}

fn is_integer(def: &str) -> bool {
    def.contains("integer:true") || def.contains("|integer")
}

/// The kinds s3db.js's mapper recognises after the hook-based ones.
fn mapped_kind(def: &str) -> ValueKind {
    let is = |name: &str| {
        def == name
            || def
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('|'))
    };
    if is("uuid") {
        ValueKind::Uuid
    } else if def.contains("datetime") {
        ValueKind::DateTime
    } else if def.contains("dateonly") {
        ValueKind::DateOnly
    } else if is("timeonly") {
        ValueKind::TimeOnly
    } else if is("mac") {
        ValueKind::Mac
    } else if is("cidr") {
        ValueKind::Cidr
    } else if is("semver") {
        ValueKind::Semver
    } else if is("phone") {
        ValueKind::Phone
    } else if is("color") {
        ValueKind::Color
    } else if is("duration") {
        ValueKind::Duration
    } else if is("ean") {
        ValueKind::Ean
    } else if is("any") {
        // s3db.js stores `String(value)` (a number comes back as a string); JSON text keeps
        // any value exact and strings stay as they are.
        ValueKind::Json
    } else {
        ValueKind::String
    }
}

/// Like the JavaScript regex `/(?:a|b):(\d+)/`: the number after the earliest occurrence of any
/// of `prefixes` that is followed by at least one digit (saturating at `u32::MAX`).
fn first_number_after_any(def: &str, prefixes: &[&str]) -> Option<u32> {
    let mut best: Option<(usize, u32)> = None;
    for prefix in prefixes {
        for (at, _) in def.match_indices(prefix) {
            let digits: &str = {
                let rest = &def[at + prefix.len()..];
                let end = rest.bytes().take_while(u8::is_ascii_digit).count();
                &rest[..end]
            };
            if digits.is_empty() {
                continue;
            }
            let value = digits.parse::<u32>().unwrap_or(u32::MAX);
            if best.is_none_or(|(pos, _)| at < pos) {
                best = Some((at, value));
            }
            break;
        }
    }
    best.map(|(_, value)| value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn order_and_parameters() {
        use ValueKind::*;
        let cases = [
            ("string", String),
            ("string|optional", String),
            ("number", Number),
            ("number|integer:true", Integer),
            ("number|integer|min:0", Integer),
            ("boolean", Boolean),
            ("bool|optional", Boolean),
            ("array|items:string", StringArray),
            ("array|items:number", NumberArray),
            ("array|items:number|integer:true", IntegerArray),
            (
                "array|items:number|length:256",
                FixedPointArray { precision: 6 },
            ),
            ("array|items:number|length:255", NumberArray),
            ("array", JsonArray),
            ("array|items:object", JsonArray),
            ("string[]", StringArray),
            ("string[]|optional", StringArray),
            ("number[]", NumberArray),
            ("number[]|integer:true", IntegerArray),
            ("object[]", JsonArray),
            ("embedding:8", FixedPointArray { precision: 6 }),
            ("object|optional", Object),
            ("json", Json),
            ("any", Json),
            ("any|optional", Json),
            ("secret|optional", Secret),
            ("password", String),
            ("ip4|optional", Ip4),
            ("ip6", Ip6),
            ("money", Money { decimals: 2 }),
            ("money:4", Money { decimals: 4 }),
            ("crypto", Money { decimals: 8 }),
            ("crypto:3", Money { decimals: 3 }),
            ("decimal", Decimal { precision: 2 }),
            ("decimal:4", Decimal { precision: 4 }),
            ("geo:lat", GeoLat { precision: 6 }),
            ("geo:lon:4", GeoLon { precision: 4 }),
            ("geo:point", GeoPoint { precision: 6 }),
            ("uuid", Uuid),
            ("uuid|optional", Uuid),
            ("datetime|optional", DateTime),
            ("dateonly", DateOnly),
            ("timeonly", TimeOnly),
            ("mac", Mac),
            ("cidr", Cidr),
            ("semver", Semver),
            ("phone", Phone),
            ("color", Color),
            ("duration", Duration),
            ("ean", Ean),
            ("email", String),
            ("text", String),
            ("buffer", Json),
            ("uuidish", String),
        ];
        for (def, kind) in cases {
            assert_eq!(kind_of(def), kind, "{def}");
        }
    }
}
