"""Image loading: every PIL mode becomes RGB with the right colour; broken files raise UnreadableImageError."""

import logging
import os

import numpy as np
import pytest
from PIL import Image

from lut.data.images import IMAGE_EXTENSIONS, UnreadableImageError, is_image_file, load_rgb


def save(img: Image.Image, path, **kwargs):
    img.save(path, **kwargs)
    return path


def palette_image(index_colour: tuple[int, int, int]) -> Image.Image:
    """3x2 palette image whose pixels all use palette entry 0."""
    img = Image.new("P", (3, 2), 0)
    img.putpalette([*index_colour, *([0, 0, 0] * 255)])
    return img


@pytest.mark.parametrize(
    ("make", "filename", "expected"),
    [
        (lambda: Image.new("RGB", (3, 2), (10, 20, 30)), "rgb.png", (10, 20, 30)),
        (lambda: Image.new("L", (3, 2), 77), "gray.png", (77, 77, 77)),
        (lambda: Image.new("LA", (3, 2), (77, 255)), "gray_alpha.png", (77, 77, 77)),
        (lambda: Image.new("LA", (3, 2), (77, 0)), "gray_transparent.png", (255, 255, 255)),
        (lambda: palette_image((10, 20, 30)), "palette.png", (10, 20, 30)),
        (lambda: Image.new("RGBA", (3, 2), (10, 20, 30, 255)), "rgba_opaque.png", (10, 20, 30)),
        (lambda: Image.new("RGBA", (3, 2), (10, 20, 30, 0)), "rgba_transparent.png", (255, 255, 255)),
        # Half-transparent black over white: 255 * (1 - 128/255) = 127.
        (lambda: Image.new("RGBA", (3, 2), (0, 0, 0, 128)), "rgba_half.png", (127, 127, 127)),
        (lambda: Image.new("CMYK", (3, 2), (0, 255, 255, 0)), "cmyk.tif", (255, 0, 0)),
        (lambda: Image.new("I;16", (3, 2), 100 * 257), "gray16.png", (100, 100, 100)),
        (lambda: Image.new("1", (3, 2), 1), "bilevel.png", (255, 255, 255)),
        (lambda: Image.new("RGB", (3, 2), (0, 128, 255)), "rgb.bmp", (0, 128, 255)),
    ],
)
def test_load_rgb_converts_modes(tmp_path, make, filename, expected):
    img = load_rgb(save(make(), tmp_path / filename))
    assert img.mode == "RGB"
    assert img.size == (3, 2)
    assert img.getpixel((0, 0)) == expected


def test_palette_with_transparency_is_white_where_transparent(tmp_path):
    img = palette_image((10, 20, 30))
    img.putpixel((1, 0), 1)
    img.putpalette([10, 20, 30, 40, 50, 60, *([0, 0, 0] * 254)])
    loaded = load_rgb(save(img, tmp_path / "p.png", transparency=0))
    assert loaded.mode == "RGB"
    assert loaded.getpixel((0, 0)) == (255, 255, 255)  # entry 0 is transparent
    assert loaded.getpixel((1, 0)) == (40, 50, 60)


def test_load_rgb_keeps_pixel_values(tmp_path):
    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    loaded = load_rgb(save(Image.fromarray(pixels), tmp_path / "a.png"))
    assert np.array_equal(np.asarray(loaded), pixels)


def test_truncated_png_is_unreadable(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = save(Image.fromarray(pixels), tmp_path / "full.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UnreadableImageError) as info:
        load_rgb(truncated)
    assert info.value.path == truncated
    assert str(truncated) in str(info.value)
    assert info.value.reason


def test_text_file_named_jpg_is_unreadable(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not an image")
    with pytest.raises(UnreadableImageError, match="notes.jpg"):
        load_rgb(path)


def test_image_extensions_ignore_case():
    assert set(IMAGE_EXTENSIONS) == {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
    assert is_image_file("a/B.JPG") and is_image_file("x.Tiff") and is_image_file("y.webp")
    assert not is_image_file("notes.txt") and not is_image_file("png")


@pytest.mark.parametrize(("value", "expected"), [(0.5, 128), (1.0, 255), (200.0, 200), (300.0, 255)])
def test_float_grayscale_in_zero_one_is_scaled_and_larger_ranges_read_as_0_to_255(tmp_path, value, expected):
    # rint(0.5 * 255) = 128 for an image of values in [0, 1]; an image with larger values is taken as 0-255.
    pixels = np.full((2, 3), value, dtype=np.float32)
    loaded = load_rgb(save(Image.fromarray(pixels, mode="F"), tmp_path / "float.tif"))
    assert loaded.getpixel((0, 0)) == (expected, expected, expected)


def test_a_named_pipe_is_unreadable_instead_of_blocking(tmp_path):
    pipe = tmp_path / "pipe.jpg"
    os.mkfifo(pipe)
    with pytest.raises(UnreadableImageError, match=r"pipe\.jpg: not a regular file"):
        load_rgb(pipe)


def test_decompression_bomb_warning_names_the_file(tmp_path, monkeypatch, caplog):
    path = save(Image.new("RGB", (12, 12), (1, 2, 3)), tmp_path / "large.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 144 pixels: over the limit, under twice it
    with caplog.at_level(logging.WARNING, logger="lut.data"):
        assert load_rgb(path).getpixel((0, 0)) == (1, 2, 3)
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [str(path)]
    assert "exceeds limit of 100 pixels" in caplog.records[0].getMessage()
