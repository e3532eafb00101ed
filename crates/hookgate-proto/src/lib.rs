//! Generated bindings of the `hookgate.v1` API.

pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("hookgate.v1");

    /// Encoded `FileDescriptorSet` of every hookgate proto, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("hookgate_descriptor");
}

pub use prost_types;
