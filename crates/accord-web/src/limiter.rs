//! Sign-in attempts per client address, in this server's memory. Only the sign-in form uses it:
//! a per-address limit on ordinary pages would throttle a whole office behind one address.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub struct AddressLimiter {
    limit: u32,
    window: SignedDuration,
    seen: Mutex<HashMap<IpAddr, (Timestamp, u32)>>,
}

impl AddressLimiter {
    pub fn new(limit: u32, window: SignedDuration) -> AddressLimiter {
        AddressLimiter { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt; `Err(retry_after)` when the address is over its limit.
    pub fn attempt(&self, address: IpAddr, now: Timestamp) -> Result<(), SignedDuration> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(address).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err(self.window - now.duration_since(entry.0));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_its_limit_waits_for_the_window() {
        let limiter = AddressLimiter::new(3, SignedDuration::from_mins(5));
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.attempt(ip, t0).is_ok());
        }
        assert!(limiter.attempt(ip, t0 + SignedDuration::from_mins(1)).is_err());
        assert!(limiter.attempt("127.0.0.2".parse().unwrap(), t0).is_ok(), "other addresses are not affected");
        assert!(limiter.attempt(ip, t0 + SignedDuration::from_mins(5)).is_ok());
    }
}
