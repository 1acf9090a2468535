/// A synthetic ADM document shaped like a long Dolby Atmos master: one
/// programme and content, `objects` Objects channels of `blocks` blocks each
/// (cartesian position, extent, gain, jumpPosition; rtime/duration in the
/// fractional `S48000` form), with packs, streams, tracks and track UIDs.
pub fn generate(objects: usize, blocks: usize) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(objects * blocks * 520 + 4096);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ebuCoreMain xmlns=\"urn:ebu:metadata-schema:ebuCore_2016\">\n<coreMetadata>\n<format>\n<audioFormatExtended version=\"ITU-R_BS.2076-2\">\n");
    s.push_str("<audioProgramme audioProgrammeID=\"APR_1001\" audioProgrammeName=\"Generated\">\n<audioContentIDRef>ACO_1001</audioContentIDRef>\n</audioProgramme>\n");
    s.push_str("<audioContent audioContentID=\"ACO_1001\" audioContentName=\"All\">\n");
    for o in 0..objects {
        let _ = writeln!(s, "<audioObjectIDRef>AO_{:04x}</audioObjectIDRef>", 0x1001 + o);
    }
    s.push_str("</audioContent>\n");
    for o in 0..objects {
        let n = 0x1001 + o;
        let _ = write!(
            s,
            "<audioObject audioObjectID=\"AO_{n:04x}\" audioObjectName=\"Object {o}\">\n<audioPackFormatIDRef>AP_0003{n:04x}</audioPackFormatIDRef>\n<audioTrackUIDRef>ATU_{:08x}</audioTrackUIDRef>\n</audioObject>\n<audioPackFormat audioPackFormatID=\"AP_0003{n:04x}\" audioPackFormatName=\"Object {o}\" typeLabel=\"0003\" typeDefinition=\"Objects\">\n<audioChannelFormatIDRef>AC_0003{n:04x}</audioChannelFormatIDRef>\n</audioPackFormat>\n",
            o + 1
        );
    }
    for o in 0..objects {
        let n = 0x1001 + o;
        let _ = writeln!(
            s,
            "<audioChannelFormat audioChannelFormatID=\"AC_0003{n:04x}\" audioChannelFormatName=\"Object {o}\" typeLabel=\"0003\" typeDefinition=\"Objects\">"
        );
        for b in 0..blocks {
            let t = (b * 512) as f64;
            let x = ((t * 0.0001 + o as f64).sin() * 1e6).round() / 1e6;
            let y = ((t * 0.00013 + o as f64).cos() * 1e6).round() / 1e6;
            let _ = write!(
                s,
                "\t<audioBlockFormat audioBlockFormatID=\"AB_0003{n:04x}_{:08x}\" rtime=\"00:00:00.{}S48000\" duration=\"00:00:00.512S48000\">\n\t\t<cartesian>1</cartesian>\n\t\t<position coordinate=\"X\">{x:.6}</position>\n\t\t<position coordinate=\"Y\">{y:.6}</position>\n\t\t<position coordinate=\"Z\">{:.6}</position>\n\t\t<width>0.1</width>\n\t\t<height>0.05</height>\n\t\t<depth>0.0</depth>\n\t\t<gain>0.8912509381</gain>\n\t\t<jumpPosition interpolationLength=\"0.005208\">1</jumpPosition>\n\t</audioBlockFormat>\n",
                b + 1,
                b * 512,
                (b % 7) as f64 / 7.0
            );
        }
        s.push_str("</audioChannelFormat>\n");
    }
    for o in 0..objects {
        let n = 0x1001 + o;
        let _ = write!(
            s,
            "<audioStreamFormat audioStreamFormatID=\"AS_0003{n:04x}\" audioStreamFormatName=\"PCM_{o}\" formatLabel=\"0001\" formatDefinition=\"PCM\">\n<audioChannelFormatIDRef>AC_0003{n:04x}</audioChannelFormatIDRef>\n<audioTrackFormatIDRef>AT_0003{n:04x}_01</audioTrackFormatIDRef>\n</audioStreamFormat>\n<audioTrackFormat audioTrackFormatID=\"AT_0003{n:04x}_01\" audioTrackFormatName=\"PCM_{o}\" formatLabel=\"0001\" formatDefinition=\"PCM\">\n<audioStreamFormatIDRef>AS_0003{n:04x}</audioStreamFormatIDRef>\n</audioTrackFormat>\n<audioTrackUID UID=\"ATU_{:08x}\" sampleRate=\"48000\" bitDepth=\"24\">\n<audioTrackFormatIDRef>AT_0003{n:04x}_01</audioTrackFormatIDRef>\n<audioPackFormatIDRef>AP_0003{n:04x}</audioPackFormatIDRef>\n</audioTrackUID>\n",
            o + 1
        );
    }
    s.push_str("</audioFormatExtended>\n</format>\n</coreMetadata>\n</ebuCoreMain>\n");
    s
}
