//! HOA items on one layout: the scene's HOA channels grouped into signal
//! sets (ItemKind::Hoa `group`: object path + root pack, as ear forms one
//! HOA rendering item), one AllRAD decoder designed per set
//! ([`crate::panning::hoa`]), and each channel's column of it spread over the
//! layout's channels (LFE outputs 0). Every engine (CPU, GPU, the binaural
//! virtual layout) renders an HOA channel as fixed gains over its block.

use crate::layout::Layout;
use crate::notice::Notice;
use crate::panning::hoa::{HoaDesign, Normalization};
use crate::panning::point_source::PointSourcePanner;
use crate::scene::{ItemKind, Scene};

/// Per scene item: the decoder column (layout order) of an HOA item that can
/// be decoded, `None` otherwise; and a notice per set that cannot.
pub fn hoa_gains(layout: &Layout, psp: &PointSourcePanner, scene: &Scene) -> (Vec<Option<Vec<f64>>>, Vec<Notice>) {
    let mut out: Vec<Option<Vec<f64>>> = vec![None; scene.items.len()];
    let mut notices = Vec::new();
    // groups in first-seen order
    let mut groups: Vec<(&str, &str, Vec<usize>)> = Vec::new();
    for (i, it) in scene.items.iter().enumerate() {
        if let ItemKind::Hoa {
            group, normalization, ..
        } = &it.kind
        {
            match groups.iter_mut().find(|(g, _, _)| *g == group.as_str()) {
                Some((_, _, v)) => v.push(i),
                None => groups.push((group.as_str(), normalization.as_str(), vec![i])),
            }
        }
    }
    if groups.is_empty() {
        return (out, notices);
    }
    let design = HoaDesign::new(psp);
    let non_lfe: Vec<usize> = (0..layout.speakers.len())
        .filter(|&s| !layout.speakers[s].lfe)
        .collect();
    for (group, norm, items) in groups {
        let mut orders = Vec::with_capacity(items.len());
        let mut degrees = Vec::with_capacity(items.len());
        let mut missing = None;
        for &i in &items {
            let ItemKind::Hoa { blocks, .. } = &scene.items[i].kind else {
                continue;
            };
            match blocks.first().map(|b| (b.block.order, b.block.degree)) {
                Some((Some(n), Some(m))) => {
                    orders.push(n);
                    degrees.push(m);
                }
                _ => missing = Some(scene.items[i].id.clone()),
            }
        }
        let decoder = match missing {
            Some(id) => Err(format!("{id} has no order/degree")),
            None => Normalization::parse(norm)
                .and_then(|n| design.decoder(&orders, &degrees, n))
                .map_err(|e| e.to_string()),
        };
        match decoder {
            Ok(columns) => {
                for (&i, col) in items.iter().zip(columns) {
                    let mut full = vec![0.0; layout.speakers.len()];
                    for (&s, v) in non_lfe.iter().zip(col) {
                        full[s] = v;
                    }
                    out[i] = Some(full);
                }
            }
            Err(why) => notices.push(Notice::new(
                "not-rendered-hoa",
                group.to_string(),
                format!("HOA set {group} ({} channels) is not rendered: {why}", items.len()),
            )),
        }
    }
    (out, notices)
}
