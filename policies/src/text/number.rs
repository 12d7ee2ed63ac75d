//! Numbers as exact reduced fractions, so `1/2`, `0.5` and `\frac{1}{2}`
//! compare equal without any rounding tolerance.

/// Parses integers, decimals, `a/b` and `\frac{a}{b}` (with signs) into a
/// reduced fraction.
pub(super) fn rational(s: &str) -> Option<(i128, i128)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (n, d) = if let Some(f) = body.strip_prefix("\\frac{") {
        let (a, rest) = f.split_once('}')?;
        let b = rest.strip_prefix('{')?.strip_suffix('}')?;
        div(decimal(a)?, decimal(b)?)?
    } else if let Some((a, b)) = body.split_once('/') {
        div(decimal(a)?, decimal(b)?)?
    } else {
        decimal(body)?
    };
    Some(if neg { (-n, d) } else { (n, d) })
}

fn div((an, ad): (i128, i128), (bn, bd): (i128, i128)) -> Option<(i128, i128)> {
    if bn == 0 {
        return None;
    }
    reduce(an.checked_mul(bd)?, ad.checked_mul(bn)?)
}

/// `66,200` and `3.25` as fractions; commas must group digits by three.
fn decimal(s: &str) -> Option<(i128, i128)> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if s.is_empty() || s.len() > 30 {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let int: String = groups.concat();
    if !(int.chars().all(|c| c.is_ascii_digit()) && frac.chars().all(|c| c.is_ascii_digit()))
        || (int.is_empty() && frac.is_empty())
    {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let mut n: i128 = 0;
    for c in int.chars().chain(frac.chars()) {
        n = n.checked_mul(10)?.checked_add(i128::from(c as u8 - b'0'))?;
    }
    let d = 10i128.checked_pow(frac.len() as u32)?;
    let (n, d) = reduce(n, d)?;
    Some(if neg { (-n, d) } else { (n, d) })
}

fn reduce(n: i128, d: i128) -> Option<(i128, i128)> {
    if d == 0 {
        return None;
    }
    let g = gcd(n.unsigned_abs(), d.unsigned_abs()) as i128;
    let (n, d) = if g > 1 { (n / g, d / g) } else { (n, d) };
    Some(if d < 0 {
        (n.checked_neg()?, d.checked_neg()?)
    } else {
        (n, d)
    })
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}
