//! `file:` URIs and paths, byte for byte. A path's bytes are percent-encoded, and a URI's
//! percent-decoded bytes become the path as they are: a directory whose name is not UTF-8
//! survives the trip through the editor (ls_types' own conversions go through a lossy
//! `String` and would name another, non-existent file).

use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::Uri;

/// The path of a `file:` URI (`None` for other schemes or an empty path).
pub fn to_path(uri: &Uri) -> Option<PathBuf> {
    if uri.scheme().as_str() != "file" {
        return None;
    }
    let bytes = uri.path().decode().to_bytes();
    if bytes.is_empty() {
        return None;
    }
    Some(path_from_bytes(bytes.into_owned()))
}

/// The `file://` URI of `path` (made absolute against the current directory when relative).
pub fn from_path(path: &Path) -> Option<Uri> {
    let abs;
    let path = if path.is_absolute() {
        path
    } else {
        abs = std::fs::canonicalize(path).ok()?;
        &abs
    };
    let mut s = String::from("file://");
    for &b in path_bytes(path).iter() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.parse().ok()
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().into()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    path.to_string_lossy().into_owned().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn paths_round_trip_byte_for_byte() {
        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9 \xff/x y%.c"));
        let uri = from_path(odd).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/caf%E9%20%FF/x%20y%25.c");
        assert_eq!(to_path(&uri).unwrap(), odd);
        let utf8 = Path::new("/home/é/[a]/f.c");
        let uri = from_path(utf8).unwrap();
        assert_eq!(
            Uri::from_file_path(utf8).unwrap(),
            uri,
            "as ls_types writes it"
        );
        assert_eq!(to_path(&uri).unwrap(), utf8);
        assert_eq!(to_path(&"untitled:x".parse().unwrap()), None);
    }
}
