//! One module per screen; `widgets` holds the shared form pieces.

pub mod item;
pub mod login;
pub mod pairing;
pub mod preview;
pub mod settings;
pub mod status;
pub mod widgets;
