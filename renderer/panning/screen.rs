//! Screen-related processing, BS.2127 §7.3.3–7.3.4 (ear `screen_common.py`,
//! `screen_scale.py`, `screen_edge_lock.py`): scaling positions from the
//! programme's reference screen to the reproduction screen (screenRef), and
//! locking to the reproduction screen's edges (screenEdgeLock).

use super::conversion::{point_cart_to_polar, point_polar_to_cart};
use super::geom::{V3, add, azimuth, cart, elevation, interp, local_coordinate_system, norm, scale, sub};
use crate::adm::elements::{HorizontalEdge, Screen, ScreenEdgeLock, VerticalEdge};

/// Screen edges as azimuths and elevations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolarEdges {
    pub left_azimuth: f64,
    pub right_azimuth: f64,
    pub bottom_elevation: f64,
    pub top_elevation: f64,
}

impl PolarEdges {
    /// Edges of a screen; `Err` for a screen that extends behind the listener
    /// or past the poles.
    pub fn from_screen(screen: &Screen) -> Result<PolarEdges, String> {
        let (centre, x_vec, z_vec) = match *screen {
            Screen::Polar {
                aspect_ratio,
                centre_azimuth,
                centre_elevation,
                centre_distance,
                width_azimuth,
            } => {
                let centre = cart(centre_azimuth, centre_elevation, centre_distance);
                let width = centre_distance * (width_azimuth / 2.0).to_radians().tan();
                let height = width / aspect_ratio;
                let axes = local_coordinate_system(centre_azimuth, centre_elevation);
                (centre, scale(axes[0], width), scale(axes[2], height))
            }
            Screen::Cartesian {
                aspect_ratio,
                centre_x,
                centre_y,
                centre_z,
                width_x,
            } => {
                let width = width_x / 2.0;
                let height = width / aspect_ratio;
                ([centre_x, centre_y, centre_z], [width, 0.0, 0.0], [0.0, 0.0, height])
            }
        };
        let left_azimuth = azimuth(sub(centre, x_vec));
        let right_azimuth = azimuth(add(centre, x_vec));
        if right_azimuth > left_azimuth {
            return Err("invalid screen: it must not extend behind the listener".into());
        }
        if azimuth(sub(centre, z_vec)) - azimuth(add(centre, z_vec)) > 1e-3 {
            return Err("invalid screen: it must not extend past straight up or down".into());
        }
        Ok(PolarEdges {
            left_azimuth,
            right_azimuth,
            bottom_elevation: elevation(sub(centre, z_vec)),
            top_elevation: elevation(add(centre, z_vec)),
        })
    }
}

/// BS.2127 §7.3.3 compensation: for layouts with U+045, move azimuths so that
/// vertical panning in allocentric coordinates stays vertical.
pub fn compensate_position(az: f64, el: f64, has_u045: bool) -> (f64, f64) {
    if has_u045 {
        let right_az = interp(el, &[0.0, 30.0, 90.0], &[30.0, 30.0 * (30.0 / 45.0), 30.0]);
        let new_az = interp(az, &[-180.0, -30.0, 30.0, 180.0], &[-180.0, -right_az, right_az, 180.0]);
        (new_az, el)
    } else {
        (az, el)
    }
}

/// screenRef scaling (ear `ScreenScaleHandler`).
#[derive(Clone, Debug)]
pub struct ScreenScaler {
    reproduction: Option<PolarEdges>,
    has_u045: bool,
}

impl ScreenScaler {
    pub fn new(reproduction: Option<PolarEdges>, has_u045: bool) -> Self {
        ScreenScaler { reproduction, has_u045 }
    }

    /// `reference`: edges of the programme's reference screen.
    pub fn handle(&self, position: V3, screen_ref: bool, reference: &PolarEdges, cartesian: bool) -> V3 {
        let Some(rep) = self.reproduction.filter(|_| screen_ref) else {
            return position;
        };
        let scale_az_el = |az: f64, el: f64| {
            let new_az = interp(
                az,
                &[-180.0, reference.right_azimuth, reference.left_azimuth, 180.0],
                &[-180.0, rep.right_azimuth, rep.left_azimuth, 180.0],
            );
            let new_el = interp(
                el,
                &[-90.0, reference.bottom_elevation, reference.top_elevation, 90.0],
                &[-90.0, rep.bottom_elevation, rep.top_elevation, 90.0],
            );
            (new_az, new_el)
        };
        if cartesian {
            let (az, el, d) = point_cart_to_polar(position[0], position[1], position[2]);
            let (saz, sel) = scale_az_el(az, el);
            let (caz, cel) = compensate_position(saz, sel, self.has_u045);
            point_polar_to_cart(caz, cel, d)
        } else {
            let (az, el, d) = (azimuth(position), elevation(position), norm(position));
            let (naz, nel) = scale_az_el(az, el);
            cart(naz, nel, d)
        }
    }
}

/// screenEdgeLock (ear `ScreenEdgeLockHandler`).
#[derive(Clone, Debug)]
pub struct ScreenEdgeLocker {
    reproduction: Option<PolarEdges>,
    has_u045: bool,
}

impl ScreenEdgeLocker {
    pub fn new(reproduction: Option<PolarEdges>, has_u045: bool) -> Self {
        ScreenEdgeLocker { reproduction, has_u045 }
    }

    fn active(&self, lock: &ScreenEdgeLock) -> Option<PolarEdges> {
        self.reproduction
            .filter(|_| lock.horizontal.is_some() || lock.vertical.is_some())
    }

    pub fn lock_az_el(&self, mut az: f64, mut el: f64, lock: &ScreenEdgeLock) -> (f64, f64) {
        let Some(e) = self.active(lock) else {
            return (az, el);
        };
        match lock.horizontal {
            Some(HorizontalEdge::Left) => az = e.left_azimuth,
            Some(HorizontalEdge::Right) => az = e.right_azimuth,
            None => {}
        }
        match lock.vertical {
            Some(VerticalEdge::Top) => el = e.top_elevation,
            Some(VerticalEdge::Bottom) => el = e.bottom_elevation,
            None => {}
        }
        (az, el)
    }

    pub fn handle_vector(&self, position: V3, lock: &ScreenEdgeLock, cartesian: bool) -> V3 {
        if self.active(lock).is_none() {
            return position;
        }
        if cartesian {
            let (az, el, d) = point_cart_to_polar(position[0], position[1], position[2]);
            let (naz, nel) = self.lock_az_el(az, el, lock);
            let (caz, cel) = compensate_position(naz, nel, self.has_u045);
            point_polar_to_cart(caz, cel, d)
        } else {
            let (az, el, d) = (azimuth(position), elevation(position), norm(position));
            let (naz, nel) = self.lock_az_el(az, el, lock);
            cart(naz, nel, d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_screen_edges() {
        let e = PolarEdges::from_screen(&Screen::DEFAULT).unwrap();
        assert!((e.left_azimuth - 29.0).abs() < 1e-9 && (e.right_azimuth + 29.0).abs() < 1e-9);
        assert!(e.top_elevation > 0.0 && (e.top_elevation + e.bottom_elevation).abs() < 1e-12);
    }
}
