//! The ADM document model (ITU-R BS.2076-2).

pub mod elements;
