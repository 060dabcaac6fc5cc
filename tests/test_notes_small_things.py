"""The small things a student of the notes trips on (issue 16)."""

import numpy as np
import pytest

import chainrule as cr


def _pixel_colour(path, fx, fy):
    """The RGB of the saved picture at fraction (fx, fy) of its width and height."""
    import matplotlib.image as mpimg
    img = mpimg.imread(str(path))
    h, w = img.shape[:2]
    return img[int(fy * h), int(fx * w), :3]


def test_decision_boundary_colours_class_1_blue_and_class_0_red_as_the_notes(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule.viz import plot_decision_boundary
    X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    predict = lambda G: (G[:, 0] > 0).astype(int)  # noqa: E731 - class 1 on the right
    path = plot_decision_boundary(predict, X, y, tmp_path / "b.png")
    left, right = _pixel_colour(path, 0.35, 0.3), _pixel_colour(path, 0.75, 0.3)
    assert left[0] > left[2] + 0.05      # class 0 region: red
    assert right[2] > right[0] + 0.05    # class 1 region: blue
    path = plot_decision_boundary(predict, X, y, tmp_path / "c.png", colors=("tab:blue", "tab:red"))
    left, right = _pixel_colour(path, 0.35, 0.3), _pixel_colour(path, 0.75, 0.3)
    assert left[2] > left[0] + 0.05 and right[0] > right[2] + 0.05
    with pytest.raises(cr.ConfigError, match="expected one per class"):
        plot_decision_boundary(predict, X, y, tmp_path / "d.png", colors=("red",))
