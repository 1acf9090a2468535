//! HRTFs from SOFA (AES69) files through `sofar`, wrapped thinly: sofar takes
//! cartesian directions with x front, y left, z up (azimuth anticlockwise,
//! like ADM) and must be queried at the dataset's measurement radius
//! (`lookup().radius_max`) — a unit vector would give a blurred,
//! interpolated filter. `filter()` allocates, so HRIRs are fetched once at
//! set-up, never per audio block. Any SOFA sample rate is resampled by sofar
//! to the session rate when the file is opened.
//!
//! The default set, MIT KEMAR (normal pinna), ships inside the binary:
//! "This data is Copyright 1994 by the MIT Media Laboratory. It is provided
//! free with no restrictions on use, provided the authors are cited when the
//! data is used in any research or commercial application." — Bill Gardner
//! and Keith Martin, MIT Media Lab Machine Listening Group (file from
//! Debian's libmysofa1 package; see renderer/binaural/data/README.md).

use sofar::reader::{Filter, OpenOptions, Sofar};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The default HRTF set (MIT KEMAR, normal pinna), 2.9 MB: repacked with
/// contiguous float32 responses, which sofar reads in about 0.04 s (0.21 s
/// for the chunked, compressed original; see the data folder's README).
pub const DEFAULT_SOFA: &[u8] = include_bytes!("data/MIT_KEMAR_normal_pinna.sofa");
pub const DEFAULT_NAME: &str = "MIT KEMAR (normal pinna), Gardner & Martin, MIT Media Lab";

/// Why an HRTF set could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HrtfError {
    #[error("{path}: not a usable SOFA (AES69) HRTF file: {message}")]
    Sofa { path: String, message: String },
}

/// One HRIR pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Hrir {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    /// Whether the direction is one of the set's measured directions (the
    /// measured response, not an interpolated one, is used).
    pub measured: bool,
}

/// An HRTF set at the session sample rate.
pub struct Hrtf {
    sofa: Sofar,
    radius: f32,
    pub name: String,
    /// Measured directions as (azimuth, elevation) in degrees, ADM convention.
    directions: Vec<(f64, f64)>,
}

impl Hrtf {
    /// The built-in MIT KEMAR set.
    pub fn default_set(rate: u32) -> Result<Hrtf, HrtfError> {
        Self::from_bytes(DEFAULT_SOFA, DEFAULT_NAME, rate)
    }

    /// The built-in set at `rate`, opened once per process and shared: a
    /// render opens it for the programme and for the dialogue bus (each
    /// opening parses and resamples the set).
    pub fn default_shared(rate: u32) -> Result<Arc<Hrtf>, HrtfError> {
        static CACHE: Mutex<Vec<(u32, Arc<Hrtf>)>> = Mutex::new(Vec::new());
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, h)) = cache.iter().find(|(r, _)| *r == rate) {
            return Ok(h.clone());
        }
        let h = Arc::new(Self::default_set(rate)?);
        cache.push((rate, h.clone()));
        Ok(h)
    }

    /// A personal SOFA file.
    pub fn open(path: &Path, rate: u32) -> Result<Hrtf, HrtfError> {
        let shown = path.display().to_string();
        let data = std::fs::read(path).map_err(|e| HrtfError::Sofa {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        Self::from_bytes(&data, &shown, rate)
    }

    fn from_bytes(data: &[u8], name: &str, rate: u32) -> Result<Hrtf, HrtfError> {
        let bad = |message: String| HrtfError::Sofa {
            path: name.to_string(),
            message,
        };
        // sofar's HDF5 parser works on untrusted bytes; keep a panic in it
        // from taking the render down.
        let opened = std::panic::catch_unwind(|| OpenOptions::new().sample_rate(rate as f32).open_data(data))
            .map_err(|_| bad("the SOFA reader failed on this file".into()))?
            .map_err(|e| bad(e.to_string()))?;
        let radius = opened.lookup().radius_max;
        if !(radius.is_finite() && radius > 0.0) || opened.filter_len() == 0 {
            return Err(bad("no measurements".into()));
        }
        let pos = &opened.hrtf().source_position.values;
        let directions = pos
            .chunks_exact(3)
            .map(|p| {
                let (x, y, z) = (p[0] as f64, p[1] as f64, p[2] as f64);
                (y.atan2(x).to_degrees(), z.atan2(x.hypot(y)).to_degrees())
            })
            .collect();
        Ok(Hrtf {
            sofa: opened,
            radius,
            name: name.to_string(),
            directions,
        })
    }

    pub fn filter_len(&self) -> usize {
        self.sofa.filter_len()
    }

    /// Measured directions (azimuth, elevation), degrees.
    pub fn directions(&self) -> &[(f64, f64)] {
        &self.directions
    }

    /// Is (azimuth, elevation) within 0.01° of a measured direction?
    pub fn is_measured(&self, az: f64, el: f64) -> bool {
        let v = crate::panning::geom::cart(az, el, 1.0);
        self.directions.iter().any(|&(a, e)| {
            let w = crate::panning::geom::cart(a, e, 1.0);
            crate::panning::geom::dot(v, w).clamp(-1.0, 1.0).acos().to_degrees() < 0.01
        })
    }

    /// The HRIR pair for a direction (ADM azimuth/elevation in degrees): the
    /// measured response when the direction is measured, else sofar's
    /// interpolation of its neighbours. Interaural delays that the file
    /// keeps apart from its responses are applied as whole-sample delays.
    pub fn hrir(&self, az: f64, el: f64) -> Hrir {
        let (a, e) = (az.to_radians(), el.to_radians());
        let r = self.radius as f64;
        let (x, y, z) = (
            (r * e.cos() * a.cos()) as f32,
            (r * e.cos() * a.sin()) as f32,
            (r * e.sin()) as f32,
        );
        let mut f = Filter::new(self.filter_len());
        let measured = self.is_measured(az, el);
        if measured {
            self.sofa.filter_nointerp(x, y, z, &mut f);
        } else {
            self.sofa.filter(x, y, z, &mut f);
        }
        let rate = self.sofa.sample_rate();
        let delayed = |ir: &[f32], d: f32| -> Vec<f32> {
            let n = (d * rate).round().max(0.0) as usize;
            let mut v = vec![0.0f32; n];
            v.extend_from_slice(ir);
            v
        };
        Hrir {
            left: delayed(&f.left, f.ldelay),
            right: delayed(&f.right, f.rdelay),
            measured,
        }
    }
}
