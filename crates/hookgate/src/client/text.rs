//! Inputs read from files or stdin, so secrets never appear in argv or shell history.

use anyhow::{bail, Context};
use std::{io::Read, path::Path};

/// A file's text, or stdin's for `-`.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// A secret from a file or stdin, without the line ending `echo` or an editor adds.
pub fn read_secret(path: &Path) -> anyhow::Result<String> {
    let text = read_text(path)?;
    let secret = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if secret.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped_and_empty_is_refused() {
        let dir = std::env::temp_dir().join(format!("hookgate-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "s3cret \n\n").unwrap();
        assert_eq!(read_secret(&file).unwrap(), "s3cret \n");
        std::fs::write(&file, "\n").unwrap();
        assert!(read_secret(&file).is_err());
        assert!(read_secret(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
