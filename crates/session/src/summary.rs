//! The one-line summary of a reload, the one wording every client shows: the
//! session's console line and the Neovim plugin's notification.

use dap::types::HotReloadResponseBody;

/// Names listed per kind of change; more are counted only.
const NAMES_SHOWN: usize = 4;

/// `game.player: 3 changed, 1 added, 0 removed (changed: update, draw,
/// Player.move; added: jump; 2.1 ms)`, naming the module (else the path);
/// the duration always ends the line.
pub fn reload_summary(body: &HotReloadResponseBody) -> String {
    let name = if body.module.is_empty() {
        &body.path
    } else {
        &body.module
    };
    let mut details = String::new();
    for (kind, names) in [
        ("changed", &body.changed),
        ("added", &body.added),
        ("removed", &body.removed),
    ] {
        if names.is_empty() {
            continue;
        }
        let shown = names
            .iter()
            .take(NAMES_SHOWN)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let more = if names.len() > NAMES_SHOWN {
            ", ..."
        } else {
            ""
        };
        details.push_str(&format!("{kind}: {shown}{more}; "));
    }
    match body.warnings.len() {
        0 => {}
        1 => details.push_str("1 warning; "),
        n => details.push_str(&format!("{n} warnings; ")),
    }
    format!(
        "{name}: {} changed, {} added, {} removed ({details}{:.1} ms)",
        body.changed.len(),
        body.added.len(),
        body.removed.len(),
        body.duration_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dap::types::ReloadWarning;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn names_what_changed_up_to_a_few_per_kind() {
        let body = HotReloadResponseBody {
            module: "game.player".into(),
            path: "/x/game/player.lua".into(),
            changed: names(&["a", "b", "c", "d", "e"]),
            added: names(&["f"]),
            removed: vec![],
            warnings: vec![ReloadWarning {
                message: "w".into(),
                ..ReloadWarning::default()
            }],
            duration_ms: 2.06,
        };
        assert_eq!(
            reload_summary(&body),
            "game.player: 5 changed, 1 added, 0 removed \
             (changed: a, b, c, d, ...; added: f; 1 warning; 2.1 ms)"
        );
    }

    #[test]
    fn a_reload_without_changes_and_module_names_the_path() {
        let body = HotReloadResponseBody {
            path: "/x/main.lua".into(),
            ..Default::default()
        };
        assert_eq!(
            reload_summary(&body),
            "/x/main.lua: 0 changed, 0 added, 0 removed (0.0 ms)"
        );
    }
}
