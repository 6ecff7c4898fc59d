"""Philox4x32-10 and dropout on the CPU: known answers, an independent pure-Python reference,
scalar == AVX2 bit for bit, keep-rate statistics, edge cases and bad input.

Dropout draws 16 bits per element (the halves of the stream words), so the drop probability
used is round(p * 2**16) / 2**16 and kept elements are scaled by its complement's inverse.
"""
import numpy as np
import pytest

from fusednn import _cpu, ops

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF

# The known-answer vectors published with Random123 for philox4x32-10.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((MASK, MASK, MASK, MASK), (MASK, MASK), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def philox_reference(ctr, key):
    """Philox4x32-10 in plain Python, from the paper's round function."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0), p1 & MASK, ((p0 >> 32) ^ c3 ^ k1), p0 & MASK
    return c0, c1, c2, c3


def stream_reference(seed, offset, n):
    words = []
    for j in range((n + 3) // 4):
        ctr = (j & MASK, j >> 32, offset & MASK, offset >> 32)
        words += philox_reference(ctr, (seed & MASK, seed >> 32))
    return np.array(words[:n], dtype=np.uint32)


def dropout_reference(x, p, seed, offset):
    """Element i draws the 16-bit half i % 2 (low first) of stream word i // 2."""
    nwords = (x.size + 1) // 2
    words = stream_reference(seed, offset, nwords) if nwords < 3000 else ops.philox(
        seed, offset, nwords)
    draws = words.view(np.uint16)[:x.size].reshape(x.shape)
    threshold = int(p * 65536 + 0.5)
    if threshold >= 65536:
        return np.zeros_like(x)
    scale = np.float32(65536 / (65536 - threshold))
    return np.where(draws >= threshold, x * scale, np.float32(0))


@pytest.mark.parametrize("ctr,key,expected", KNOWN_ANSWERS)
def test_philox_known_answers(ctr, key, expected):
    assert _cpu.philox4x32_10(*ctr, *key) == expected
    assert philox_reference(ctr, key) == expected


def test_stream_starts_with_the_zero_counter_block():
    assert tuple(ops.philox(0, 0, 4)) == KNOWN_ANSWERS[0][2]


@pytest.mark.parametrize("n", [0, 1, 7, 31, 32, 33, 97, 4097])
@pytest.mark.parametrize("seed,offset", [(0, 0), (2**40 + 17, 3), (2**64 - 1, 2**63 + 5)])
def test_stream_matches_the_reference_on_both_paths(cpu_path, n, seed, offset):
    expected = stream_reference(seed, offset, n) if n < 200 else None
    got = ops.philox(seed, offset, n)
    if expected is None:  # long streams: spot-check a few blocks against the reference
        for j in (0, 1, 7, 8, 500, (n - 1) // 4):
            block = philox_reference((j & MASK, j >> 32, offset & MASK, offset >> 32),
                                     (seed & MASK, seed >> 32))
            np.testing.assert_array_equal(got[4 * j:4 * j + 4], np.array(block, np.uint32)[
                :len(got[4 * j:4 * j + 4])])
    else:
        np.testing.assert_array_equal(got, expected)


SIZES = [0, 1, 7, 31, 32, 33, 4097, 100_003]


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 1e-9, 1 - 1e-9, 3e-6, 1 - 3e-6])
@pytest.mark.parametrize("n", SIZES)
def test_dropout_matches_the_reference_and_paths_agree_bitwise(n, p):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    results = {}
    for path in ["scalar", "avx2"] if "avx2" in _available() else ["scalar"]:
        _cpu.set_kernel_path(path)
        try:
            results[path] = ops.dropout(x, p, seed=99, offset=7)
        finally:
            _cpu.set_kernel_path("auto")
    expected = dropout_reference(x, p, 99, 7)
    for y in results.values():
        np.testing.assert_array_equal(y.view(np.uint32), expected.view(np.uint32))


def _available():
    f = _cpu.cpu_features()
    return ["scalar"] + (["avx2"] if f["avx2"] and f["fma"] else [])


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_keep_rate_and_mean_are_right(cpu_path, p):
    n = 1_000_000
    x = np.full(n, 2.0, np.float32)
    y = ops.dropout(x, p, seed=5, offset=11)
    kept = np.count_nonzero(y)
    sigma = np.sqrt(n * p * (1 - p))
    assert abs(kept - n * (1 - p)) < 5 * sigma
    p_eff = round(p * 65536) / 65536
    assert np.all((y == 0) | (y == np.float32(2.0) * np.float32(1 / (1 - p_eff))))
    assert abs(y.mean() - 2.0) < 5 * 2.0 / (1 - p) * sigma / n


def test_p_zero_is_identity_and_p_one_is_zero(cpu_path):
    x = np.random.default_rng(0).standard_normal(1001).astype(np.float32)
    np.testing.assert_array_equal(ops.dropout(x, 0.0, seed=1), x)
    assert not ops.dropout(x, 1.0, seed=1).any()
    assert not ops.dropout_backward(x, 1.0, seed=1).any()


def test_backward_regenerates_the_forward_mask(cpu_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 2, 50_001).astype(np.float32)
    dy = rng.uniform(1, 2, 50_001).astype(np.float32)
    y = ops.dropout(x, 0.4, seed=3, offset=9)
    dx = ops.dropout_backward(dy, 0.4, seed=3, offset=9)
    np.testing.assert_array_equal(y != 0, dx != 0)
    scale = np.float32(65536 / (65536 - round(0.4 * 65536)))
    np.testing.assert_array_equal(dx[dx != 0], dy[dx != 0] * scale)


def test_mask_depends_on_seed_offset_and_position_only(cpu_path):
    x = np.ones(100_003, np.float32)
    a = ops.dropout(x, 0.5, seed=1, offset=0)
    np.testing.assert_array_equal(a, ops.dropout(x, 0.5, seed=1, offset=0))
    assert (a != ops.dropout(x, 0.5, seed=1, offset=1)).mean() > 0.4
    assert (a != ops.dropout(x, 0.5, seed=2, offset=0)).mean() > 0.4
    # A prefix of any length is the prefix of the longer result: no dependence on chunking.
    for k in (1, 33, 1000, 65_537):
        np.testing.assert_array_equal(ops.dropout(x[:k].copy(), 0.5, seed=1), a[:k])


def test_torch_in_torch_out_and_in_place_out():
    torch = pytest.importorskip("torch")
    x = torch.randn(3, 5, 7)
    y = ops.dropout(x, 0.25, seed=4, offset=2)
    assert isinstance(y, torch.Tensor) and y.shape == x.shape
    np.testing.assert_array_equal(y.numpy(), ops.dropout(x.numpy(), 0.25, seed=4, offset=2))
    ref = ops.dropout(x.numpy(), 0.25, seed=4, offset=3)
    out = x.clone()
    assert ops.dropout(out, 0.25, seed=4, offset=3, out=out) is out
    np.testing.assert_array_equal(out.numpy(), ref)


def test_generator_hands_out_successive_offsets():
    gen = ops.PhiloxGenerator(seed=42)
    assert gen.next() == {"seed": 42, "offset": 0}
    assert gen.next() == {"seed": 42, "offset": 1}
    state = gen.state()
    gen.next()
    gen.set_state(state)
    assert gen.next() == {"seed": 42, "offset": 2}


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(p=-0.1), ValueError, "p must be >= 0"),
    (dict(p=1.5), ValueError, "p must be <= 1"),
    (dict(p=float("nan")), ValueError, "p must be finite"),
    (dict(seed=-1), ValueError, r"seed must be in \[0, 2\*\*64\)"),
    (dict(seed=2**64), ValueError, "seed must be in"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(offset=-3), ValueError, "offset must be in"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    args = {"p": 0.5, "seed": 1, **kwargs}
    p = args.pop("p")
    with pytest.raises(error, match=match):
        ops.dropout(np.ones(4, np.float32), p, **args)


def test_bad_arrays_are_named():
    with pytest.raises(TypeError, match="x: expected float32, got float64"):
        ops.dropout(np.ones(4), 0.5, seed=1)
    with pytest.raises(ValueError, match="x: must be C-contiguous"):
        ops.dropout(np.ones((4, 4), np.float32).T, 0.5, seed=1)
    with pytest.raises(ValueError, match=r"out has shape \(3,\) but x has shape \(4,\)"):
        ops.dropout(np.ones(4, np.float32), 0.5, seed=1, out=np.ones(3, np.float32))
    with pytest.raises(TypeError, match="dy: expected a numpy.ndarray"):
        ops.dropout_backward([1.0, 2.0], 0.5, seed=1)
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        ops.philox(1, 0, -1)


def test_out_partly_overlapping_x_is_refused_and_nothing_is_written():
    buf = np.arange(20, dtype=np.float32)
    before = buf.copy()
    with pytest.raises(ValueError, match="share memory"):
        ops.dropout(buf[0:16], 0.5, seed=3, out=buf[4:20])
    np.testing.assert_array_equal(buf, before)
    same = buf[0:16]
    assert ops.dropout(same, 0.0, seed=3, out=buf[0:16]) is not None  # the same memory: in place
