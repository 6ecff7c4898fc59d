"""keras.utils helpers against Keras's documented behaviour."""
import numpy as np
import pytest

from fusednn import keras


def test_pad_sequences_as_keras():
    from fusednn.keras.utils import pad_sequences

    seqs = [[1, 2, 3], [4, 5], [6], []]
    assert pad_sequences(seqs).tolist() == [[1, 2, 3], [0, 4, 5], [0, 0, 6], [0, 0, 0]]
    assert pad_sequences(seqs, maxlen=2).tolist() == [[2, 3], [4, 5], [0, 6], [0, 0]]
    assert pad_sequences(seqs, maxlen=2, padding="post", truncating="post",
                         value=-1).tolist() == [[1, 2], [4, 5], [6, -1], [-1, -1]]
    assert pad_sequences(seqs).dtype == np.int32
    steps = pad_sequences([[[1, 2]], [[3, 4], [5, 6]]], dtype="float32")
    assert steps.shape == (2, 2, 2) and steps[0].tolist() == [[0, 0], [1, 2]]
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="sequence 1 has steps of shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
    with pytest.raises(ValueError, match="not a single value"):
        pad_sequences([1, 2, 3])


def test_normalize_and_the_preprocessing_path():
    from fusednn.keras.preprocessing.sequence import pad_sequences

    assert pad_sequences is keras.utils.pad_sequences
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]])),
                               [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0]]), axis=0, order=1),
                               [[1.0, 1.0]])


def test_backend_functions_keras_code_calls():
    keras.backend.clear_session()
    keras.utils.clear_session()
    assert keras.backend.backend() == "fusednn"
    assert keras.backend.epsilon() == 1e-7 and keras.backend.floatx() == "float32"
    assert keras.backend.image_data_format() == "channels_last"
