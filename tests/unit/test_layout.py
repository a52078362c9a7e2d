"""The pool's data tree: one data subvolume for downloads and media, and an opt-in app's own category and folder
only while it is enabled."""

from __future__ import annotations

from mediabox import layout


def test_the_tree_has_every_category_and_library_under_one_data_folder():
    tree = layout.data_dirs("/mnt/storage", ["sonarr", "radarr"])
    assert tree[0] == "/mnt/storage/data" and all(path.startswith("/mnt/storage/data") for path in tree)
    assert "/mnt/storage/data/downloads/complete/tv" in tree and "/mnt/storage/data/media/youtube" in tree
    assert not [path for path in tree if path.endswith("/adult")]


def test_whisparr_enabled_adds_its_category_and_library_and_nothing_else():
    plain, with_whisparr = layout.data_dirs("/m", []), layout.data_dirs("/m", ["whisparr"])
    assert sorted(set(with_whisparr) - set(plain)) == ["/m/data/downloads/complete/adult", "/m/data/media/adult"]
    assert layout.categories(["whisparr"]) == [*layout.CATEGORIES, "adult"]
    assert layout.categories(["sonarr"]) == list(layout.CATEGORIES)
