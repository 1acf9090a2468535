//! Exact time: ADM times are parsed into rationals and stay exact until they
//! become sample positions, in one place ([`Time::to_sample_ceil`]).
//!
//! BS.2076-2 §3.2 (time formats): clock form `hh:mm:ss.fffff…` (any number of
//! decimal digits) and fractional form `hh:mm:ss.zzzzzSfffff` (`z` samples at
//! `f` Hz, e.g. `00:00:01.24000S48000`).

use std::cmp::Ordering;
use std::fmt;

/// An exact, non-normalised-on-the-outside rational number of seconds.
/// Invariant: `den > 0` and `gcd(num, den) == 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Time {
    num: i64,
    den: i64,
}

impl Default for Time {
    /// Zero seconds.
    fn default() -> Self {
        Time::ZERO
    }
}

/// Stein's binary gcd (0 when both are 0). Times that fit 64 bits (all of
/// a usual programme's) are reduced with it, without divisions: 128-bit
/// divisions are library calls, and were a sixth of the metadata's time.
fn gcd_u64(mut a: u64, mut b: u64) -> u64 {
    if a == 0 || b == 0 {
        return a | b;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// Euclid's gcd, for values past 64 bits.
fn gcd_u128(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// ceil(n / d) for d > 0, clamped to i64 (the 128-bit form of
/// [`Time::to_sample_ceil`]).
fn ceil_wide(n: i128, d: i128) -> i64 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    let c = if r == 0 { q } else { q + 1 };
    c.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// n / d as f64 for d > 0, whole part first (the 128-bit form of
/// [`Time::to_sample_f64`]).
fn f64_wide(n: i128, d: i128) -> f64 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    q as f64 + r as f64 / d as f64
}

/// Why a time string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("cannot parse time {0:?} (expected hh:mm:ss.fffff or hh:mm:ss.zzzzzSfffff)")]
    Syntax(String),
    #[error("time {0:?} is out of range")]
    Range(String),
}

impl Time {
    pub const ZERO: Time = Time { num: 0, den: 1 };

    /// `num / den` seconds; `None` when `den == 0` or the reduced value does not fit.
    pub fn new(num: i64, den: i64) -> Option<Time> {
        Self::from_i128(num as i128, den as i128)
    }

    fn from_i128(num: i128, den: i128) -> Option<Time> {
        if let (Ok(n), Ok(d)) = (i64::try_from(num), i64::try_from(den))
            && let Some(t) = Self::reduce64(n, d)
        {
            return Some(t);
        }
        Self::reduce_wide(num, den)
    }

    /// `num / den` in lowest terms in 64-bit arithmetic; `None` when
    /// `den == 0` or a step would overflow (then [`Self::reduce_wide`] decides).
    fn reduce64(num: i64, den: i64) -> Option<Time> {
        if den == 0 {
            return None;
        }
        let g = i64::try_from(gcd_u64(num.unsigned_abs(), den.unsigned_abs()).max(1)).ok()?;
        let (n, d) = (num / g, den / g);
        if d < 0 {
            return Some(Time {
                num: n.checked_neg()?,
                den: d.checked_neg()?,
            });
        }
        Some(Time { num: n, den: d })
    }

    /// [`Self::from_i128`] in 128-bit arithmetic throughout.
    fn reduce_wide(num: i128, den: i128) -> Option<Time> {
        if den == 0 {
            return None;
        }
        let g = (gcd_u128(num.unsigned_abs(), den.unsigned_abs()) as i128).max(1);
        let (mut n, mut d) = (num / g, den / g);
        if d < 0 {
            n = -n;
            d = -d;
        }
        Some(Time {
            num: i64::try_from(n).ok()?,
            den: i64::try_from(d).ok()?,
        })
    }

    pub fn from_seconds_int(s: i64) -> Time {
        Time { num: s, den: 1 }
    }

    /// `samples / rate` seconds.
    pub fn from_samples(samples: i64, rate: u32) -> Time {
        Self::new(samples, rate as i64).unwrap_or(Time::ZERO)
    }

    pub fn numer(self) -> i64 {
        self.num
    }
    pub fn denom(self) -> i64 {
        self.den
    }

    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    pub fn checked_add(self, o: Time) -> Option<Time> {
        // in 64 bits when nothing overflows (the usual case), else in 128
        if let (Some(a), Some(b), Some(d)) = (
            self.num.checked_mul(o.den),
            o.num.checked_mul(self.den),
            self.den.checked_mul(o.den),
        ) && let Some(n) = a.checked_add(b)
        {
            return Self::from_i128(i128::from(n), i128::from(d));
        }
        Self::from_i128(
            self.num as i128 * o.den as i128 + o.num as i128 * self.den as i128,
            self.den as i128 * o.den as i128,
        )
    }

    pub fn checked_sub(self, o: Time) -> Option<Time> {
        self.checked_add(Time {
            num: -o.num,
            den: o.den,
        })
    }

    /// Exact position in samples (may be fractional) as a (numerator, denominator) pair.
    pub fn samples_exact(self, rate: u32) -> (i128, i128) {
        (self.num as i128 * rate as i128, self.den as i128)
    }

    /// The first whole sample at or after this time: `ceil(t · rate)`.
    /// BS.2127 (and ear's `renderer_common`): sample `n` belongs to a block
    /// when `start ≤ n < end`, so a block covers `ceil(start·fs) .. ceil(end·fs)`.
    pub fn to_sample_ceil(self, rate: u32) -> i64 {
        if let Some(n) = self.num.checked_mul(i64::from(rate)) {
            // den ≥ 1, so q + 1 cannot overflow when r ≠ 0 (then den ≥ 2)
            let (q, r) = (n.div_euclid(self.den), n.rem_euclid(self.den));
            return if r == 0 { q } else { q + 1 };
        }
        let (n, d) = self.samples_exact(rate);
        ceil_wide(n, d)
    }

    /// Exact sample position as f64 (for ramp coefficients).
    pub fn to_sample_f64(self, rate: u32) -> f64 {
        if let Some(n) = self.num.checked_mul(i64::from(rate)) {
            let (q, r) = (n.div_euclid(self.den), n.rem_euclid(self.den));
            return q as f64 + r as f64 / self.den as f64;
        }
        let (n, d) = self.samples_exact(rate);
        f64_wide(n, d)
    }

    /// Parse a plain decimal number of seconds, exactly (e.g. the
    /// `interpolationLength` attribute, `"0.005208"`). Exponents are accepted
    /// (`"5.2e-3"`); negative values are refused.
    pub fn parse_decimal_seconds(s: &str) -> Result<Time, TimeError> {
        let syntax = || TimeError::Syntax(s.to_string());
        let range = || TimeError::Range(s.to_string());
        let t = s.trim();
        let (mantissa, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| syntax())?),
            None => (t, 0),
        };
        let mantissa = mantissa.strip_prefix('+').unwrap_or(mantissa);
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(syntax());
        }
        let digits = format!("{int_part}{}", frac_part.trim_end_matches('0'));
        let digits = digits.trim_start_matches('0');
        let scale = frac_part.trim_end_matches('0').len() as i32 - exp;
        if digits.is_empty() {
            return Ok(Time::ZERO);
        }
        if digits.len() > 18 || !(-18..=18).contains(&scale) {
            return Err(range());
        }
        let n: i128 = digits.parse().map_err(|_| range())?;
        let (num, den) = if scale >= 0 {
            (n, 10i128.pow(scale as u32))
        } else {
            (n * 10i128.pow((-scale) as u32), 1)
        };
        Time::from_i128(num, den).ok_or_else(range)
    }

    /// Parse an ADM time attribute (clock or fractional form).
    pub fn parse(s: &str) -> Result<Time, TimeError> {
        match Self::parse_clock_decimal(s.as_bytes()) {
            Some(t) => Ok(t),
            None => Self::parse_general(s),
        }
    }

    /// [`Time::parse`] for every form it reads.
    fn parse_general(s: &str) -> Result<Time, TimeError> {
        let syntax = || TimeError::Syntax(s.to_string());
        let range = || TimeError::Range(s.to_string());
        let t = s.trim();
        let mut parts = t.splitn(3, ':');
        let h = parts.next().ok_or_else(syntax)?;
        let m = parts.next().ok_or_else(syntax)?;
        let rest = parts.next().ok_or_else(syntax)?;
        let digits = |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || !digits(m) {
            return Err(syntax());
        }
        let h: i64 = h.parse().map_err(|_| syntax())?;
        let m: i64 = m.parse().map_err(|_| syntax())?;
        let (sec, frac) = match rest.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        if !digits(sec) {
            return Err(syntax());
        }
        let sec: i64 = sec.parse().map_err(|_| syntax())?;
        let whole = Time::from_seconds_int(h * 3600 + m * 60 + sec);
        let Some(frac) = frac else {
            return Ok(whole);
        };
        let frac_t = if let Some((samples, rate)) = frac.split_once('S') {
            let ok = |x: &str| !x.is_empty() && x.len() <= 12 && x.bytes().all(|b| b.is_ascii_digit());
            if !ok(samples) || !ok(rate) {
                return Err(syntax());
            }
            let z: i64 = samples.parse().map_err(|_| range())?;
            let f: i64 = rate.parse().map_err(|_| range())?;
            if f == 0 {
                return Err(range());
            }
            Time::new(z, f).ok_or_else(range)?
        } else {
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            // Trailing zeros carry no information; more than 18 significant
            // digits do not fit an i64 denominator.
            let trimmed = frac.trim_end_matches('0');
            if trimmed.len() > 18 {
                return Err(range());
            }
            if trimmed.is_empty() {
                Time::ZERO
            } else {
                let n: i64 = trimmed.parse().map_err(|_| range())?;
                Time::new(n, 10i64.pow(trimmed.len() as u32)).ok_or_else(range)?
            }
        };
        whole.checked_add(frac_t).ok_or_else(range)
    }
}

impl Time {
    /// The usual form of an ADM time, `h:m:s.f` with 1–2 digits for each
    /// of h, m, s and 1–9 fraction digits (what a long master repeats in
    /// every block), as one fraction reduced once; `None` for any other
    /// text, which [`Time::parse`] reads the general way. Exact, so equal to
    /// the general reading (a time in lowest terms is unique).
    fn parse_clock_decimal(b: &[u8]) -> Option<Time> {
        // digits at b[*i..] (1 to `max` of them) as a number, and `then`
        // after them (0: the end of the text)
        fn field(b: &[u8], i: &mut usize, max: usize, then: u8) -> Option<i64> {
            let start = *i;
            let mut v = 0i64;
            while let Some(&c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
                v = v * 10 + i64::from(c - b'0');
                *i += 1;
            }
            if *i == start || *i - start > max || b.get(*i).copied().unwrap_or(0) != then {
                return None;
            }
            *i += 1;
            Some(v)
        }
        let mut i = 0;
        let h = field(b, &mut i, 2, b':')?;
        let m = field(b, &mut i, 2, b':')?;
        let sec = field(b, &mut i, 2, b'.')?;
        let frac_start = i;
        let frac = field(b, &mut i, 9, 0)?;
        // (i is one past the end: field stepped over the end as if it were a character)
        if i != b.len() + 1 {
            return None;
        }
        let den = 10i64.pow((b.len() - frac_start) as u32);
        Self::new((h * 3600 + m * 60 + sec) * den + frac, den)
    }
}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Time {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.num as i128 * o.den as i128).cmp(&(o.num as i128 * self.den as i128))
    }
}

impl fmt::Display for Time {
    /// Clock form with up to 9 decimals, e.g. `00:01:02.5`; exact values that
    /// need more digits print rounded (the JSON carries seconds as f64 anyway).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.num < 0;
        let abs_num = (self.num as i128).abs();
        let den = self.den as i128;
        let whole = abs_num / den;
        let rem = abs_num % den;
        let nanos = (rem * 1_000_000_000 + den / 2) / den;
        let (whole, nanos) = if nanos >= 1_000_000_000 {
            (whole + 1, 0)
        } else {
            (whole, nanos)
        };
        let (h, m, s) = (whole / 3600, (whole / 60) % 60, whole % 60);
        let frac = format!("{nanos:09}");
        let frac = frac.trim_end_matches('0');
        let frac = if frac.is_empty() { "0" } else { frac };
        write!(f, "{}{h:02}:{m:02}:{s:02}.{frac}", if neg { "-" } else { "" })
    }
}

impl serde::Serialize for Time {
    /// Times appear in JSON as seconds (f64).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_clock_and_fractional_forms() {
        assert_eq!(Time::parse("00:00:01.5").unwrap(), Time::new(3, 2).unwrap());
        assert_eq!(Time::parse("01:02:03.00000").unwrap(), Time::from_seconds_int(3723));
        assert_eq!(Time::parse("00:00:00.24000S48000").unwrap(), Time::new(1, 2).unwrap());
        assert_eq!(Time::parse("00:00:05.1S2").unwrap(), Time::new(11, 2).unwrap());
        assert_eq!(Time::parse("00:00:10").unwrap(), Time::from_seconds_int(10));
        assert_eq!(
            Time::parse("00:00:00.0053333").unwrap(),
            Time::new(53333, 10_000_000).unwrap()
        );
        for bad in [
            "",
            "1:2",
            "aa:00:00.0",
            "00:00:00.x",
            "00:00:00.1S0",
            "00:00:00.1S",
            "000:00:00.0",
        ] {
            assert!(Time::parse(bad).is_err(), "{bad}");
        }
    }

    /// The fast reading of the usual form equals the general one, and
    /// leaves every other form to it.
    #[test]
    fn the_usual_clock_form_reads_as_the_general_parser_reads_it() {
        let mut x = 0x7153_u64;
        let mut r = move |n: u64| crate::rng::xorshift64(&mut x) % n;
        let mut fast = 0;
        for _ in 0..20_000 {
            let two = |v: u64, wide: bool| if wide { format!("{v:02}") } else { format!("{v}") };
            let (h, m, sec) = (r(100), r(100), r(100));
            let digits = 1 + r(9) as usize;
            let frac: String = (0..digits).map(|_| char::from(b'0' + r(10) as u8)).collect();
            let text = format!(
                "{}:{}:{}.{frac}",
                two(h, h < 10 && r(2) == 0),
                two(m, m < 10 && r(2) == 0),
                two(sec, sec < 10 && r(2) == 0)
            );
            let general = Time::parse_general(&text).unwrap();
            assert_eq!(Time::parse_clock_decimal(text.as_bytes()), Some(general), "{text}");
            assert_eq!(Time::parse(&text).unwrap(), general);
            fast += 1;
        }
        assert_eq!(fast, 20_000);
        for other in [
            " 00:00:01.5",
            "00:00:01.5 ",
            "00:00:01",
            "00:00:01.",
            "000:00:01.5",
            "00:00:01.1234567890",
            "00:00:00.24000S48000",
            "00:00:01.5\0",
            "0a:00:01.5",
            "",
        ] {
            assert_eq!(Time::parse_clock_decimal(other.as_bytes()), None, "{other:?}");
        }
        // which the general parser still reads (or refuses) as before
        assert_eq!(Time::parse(" 00:00:01.5").unwrap(), Time::new(3, 2).unwrap());
        assert_eq!(
            Time::parse("00:00:01.1234567890").unwrap(),
            Time::new(11_234_567_890, 10_000_000_000).unwrap()
        );
        assert!(Time::parse("000:00:01.5").is_err());
    }

    #[test]
    fn parses_decimal_seconds() {
        assert_eq!(Time::parse_decimal_seconds("0.2").unwrap(), Time::new(1, 5).unwrap());
        assert_eq!(
            Time::parse_decimal_seconds("0.005208").unwrap(),
            Time::new(5208, 1_000_000).unwrap()
        );
        assert_eq!(
            Time::parse_decimal_seconds("5.2e-3").unwrap(),
            Time::new(52, 10_000).unwrap()
        );
        assert_eq!(Time::parse_decimal_seconds("2").unwrap(), Time::from_seconds_int(2));
        assert_eq!(Time::parse_decimal_seconds("0.000").unwrap(), Time::ZERO);
        for bad in ["", ".", "-1", "1.2.3", "abc", "1e"] {
            assert!(Time::parse_decimal_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sample_positions_round_up() {
        let t = Time::new(1, 3).unwrap(); // 16000 exactly at 48 kHz
        assert_eq!(t.to_sample_ceil(48000), 16000);
        let t = Time::parse("00:00:00.0053333").unwrap(); // 255.9984 samples
        assert_eq!(t.to_sample_ceil(48000), 256);
        assert!((t.to_sample_f64(48000) - 255.9984).abs() < 1e-9);
        assert_eq!(Time::ZERO.to_sample_ceil(48000), 0);
    }

    #[test]
    fn fast_paths_equal_the_128_bit_arithmetic() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || crate::rng::xorshift64(&mut x);
        let edge = [
            0i64,
            1,
            -1,
            2,
            3,
            48000,
            44100,
            1 << 32,
            i64::MAX,
            i64::MIN + 1,
            -(1 << 40) - 7,
        ];
        for k in 0..200_000 {
            // mixed magnitudes: small, medium, near the 64-bit limits, and edges
            let mut pick = |k: usize| -> i64 {
                let v = next();
                match (k + (v as usize >> 60)) % 5 {
                    0 => edge[(v % edge.len() as u64) as usize],
                    1 => (v % 100_000) as i64 - 50_000,
                    2 => (v >> 20) as i64 * if v & 1 == 0 { 1 } else { -1 },
                    3 => v as i64,
                    _ => ((v % 1_000_000_007) as i64).max(1),
                }
            };
            let (a, b, c, d) = (pick(k), pick(k + 1), pick(k + 2), pick(k + 3));
            assert_eq!(
                gcd_u64(a.unsigned_abs(), b.unsigned_abs()) as u128,
                gcd_u128(a.unsigned_abs() as u128, b.unsigned_abs() as u128),
                "gcd {a} {b}"
            );
            assert_eq!(Time::new(a, b), Time::reduce_wide(a as i128, b as i128), "new {a}/{b}");
            let (Some(s), Some(t)) = (Time::new(a, b), Time::new(c, d)) else {
                continue;
            };
            let slow_sum = Time::reduce_wide(
                s.num as i128 * t.den as i128 + t.num as i128 * s.den as i128,
                s.den as i128 * t.den as i128,
            );
            assert_eq!(s.checked_add(t), slow_sum, "{s:?} + {t:?}");
            for rate in [1u32, 44100, 48000, 96000, u32::MAX] {
                let (n, d) = s.samples_exact(rate);
                assert_eq!(s.to_sample_ceil(rate), ceil_wide(n, d), "{s:?} at {rate}");
                assert_eq!(
                    s.to_sample_f64(rate).to_bits(),
                    f64_wide(n, d).to_bits(),
                    "{s:?} at {rate}"
                );
            }
        }
    }

    #[test]
    fn ordering_and_display() {
        let a = Time::parse("00:00:00.25").unwrap();
        let b = Time::parse("00:00:00.06000S48000").unwrap();
        assert!(a > b);
        assert_eq!(a.checked_sub(b).unwrap(), Time::ZERO.checked_add(b).unwrap());
        assert_eq!(format!("{}", Time::parse("01:00:02.5").unwrap()), "01:00:02.5");
    }
}
