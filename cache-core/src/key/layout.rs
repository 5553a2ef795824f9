//! [`KeyLayout`]: whether a key type's rendered keys start with its namespace and version.

/// How a key type's rendered keys begin.
///
/// - [`KeyLayout::namespaced`] (the default): `namespace:vVERSION` followed by the segments, as
///   in `session:v1:<token>`. Changing the version moves every key, so entries written in an old
///   format are never read back as the new one.
/// - [`KeyLayout::template`]: nothing but what the key writes, for compatibility with a layout
///   that other services already use, such as `{network}:{account}`. The argument is the fixed
///   text every key of the type starts with (`""` when the template starts with a field); it is
///   the prefix that [`KeyPrefix::namespace`](crate::KeyPrefix::namespace) scans.
///
/// # Example
///
/// ```
/// use cache_core::KeyLayout;
///
/// const NETWORK_ACCOUNT: KeyLayout = KeyLayout::template("");
/// const OTP: KeyLayout = KeyLayout::template("otp:");
/// assert_eq!(OTP.fixed_prefix(), Some("otp:"));
/// assert_eq!(KeyLayout::namespaced().fixed_prefix(), None);
/// # let _ = NETWORK_ACCOUNT;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLayout {
    template_prefix: Option<&'static str>,
}

impl KeyLayout {
    /// Keys start with `namespace:vVERSION`.
    #[must_use]
    pub const fn namespaced() -> Self {
        Self {
            template_prefix: None,
        }
    }

    /// Keys are exactly what the key type writes; each starts with `fixed_prefix`.
    #[must_use]
    pub const fn template(fixed_prefix: &'static str) -> Self {
        Self {
            template_prefix: Some(fixed_prefix),
        }
    }

    /// The fixed text of a template layout; `None` for the namespaced layout.
    pub const fn fixed_prefix(&self) -> Option<&'static str> {
        self.template_prefix
    }
}

impl Default for KeyLayout {
    fn default() -> Self {
        Self::namespaced()
    }
}
