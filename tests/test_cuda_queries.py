"""PyTorch's CUDA, cuDNN and precision switches answered for a CPU-only library, and
the CPU predicates of a tensor (``is_cuda``, ``is_cpu``...)."""

from __future__ import annotations

import warnings

import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")


def test_tensor_predicates():
    x = tg.ones(2)
    assert x.is_cpu is True and x.is_cuda is False and x.is_mps is False
    assert x.is_meta is False and x.is_sparse is False and x.is_quantized is False
    assert tg.nn.Parameter(x).is_cuda is False
    assert tg.FloatTensor.is_cuda is False


def test_memory_queries_answer_as_torch_without_a_gpu():
    assert tg.cuda.empty_cache() is None
    for name in (
        "memory_allocated",
        "max_memory_allocated",
        "memory_reserved",
        "max_memory_reserved",
    ):
        assert getattr(tg.cuda, name)() == 0 == getattr(torch.cuda, name)()
        assert getattr(tg.cuda, name)(0) == 0
    assert tg.cuda.memory_stats() == {} and dict(torch.cuda.memory_stats()) == {}
    assert tg.cuda.is_initialized() is False
    assert tg.cuda.is_available() is torch.cuda.is_available() is False


@pytest.mark.parametrize(
    "call",
    [
        lambda cuda: cuda.synchronize(),
        lambda cuda: cuda.current_device(),
        lambda cuda: cuda.get_device_name(),
        lambda cuda: cuda.get_device_capability(),
        lambda cuda: cuda.set_device(0),
        lambda cuda: cuda.init(),
        lambda cuda: cuda.ipc_collect(),
        lambda cuda: cuda.reset_peak_memory_stats(),
    ],
)
def test_calls_that_need_a_gpu_raise_as_torch(call):
    with pytest.raises(ValueError, match="CPUs only"):
        call(tg.cuda)
    with pytest.raises((RuntimeError, AssertionError)):  # torch's CPU build
        call(torch.cuda)


def test_cudnn_switches():
    cudnn = tg.backends.cudnn
    assert cudnn.is_available() is False and cudnn.version() is None
    assert cudnn.enabled is True and cudnn.benchmark is False
    assert cudnn.deterministic is False and cudnn.allow_tf32 is True
    assert cudnn.is_acceptable(tg.ones(1)) is False
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cudnn, name) == getattr(torch.backends.cudnn, name)
    try:
        cudnn.benchmark = True
        cudnn.deterministic = True
        assert tg.backends.cudnn.benchmark and tg.backends.cudnn.deterministic
    finally:
        cudnn.benchmark = False
        cudnn.deterministic = False
    assert tg.backends.cuda.is_built() is False


def test_matmul_precision_validates_and_mirrors_allow_tf32_as_torch():
    theirs = torch.get_float32_matmul_precision()
    try:
        assert tg.get_float32_matmul_precision() == "highest"
        assert tg.backends.cuda.matmul.allow_tf32 is False
        for value in ("high", "medium", "highest"):
            tg.set_float32_matmul_precision(value)
            torch.set_float32_matmul_precision(value)
            assert tg.get_float32_matmul_precision() == value
            assert (
                tg.backends.cuda.matmul.allow_tf32
                == torch.backends.cuda.matmul.allow_tf32
            )
        tg.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True
        assert tg.get_float32_matmul_precision() == "high"
        assert torch.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="has no effect"):
            tg.set_float32_matmul_precision("low")
        assert tg.get_float32_matmul_precision() == "high"
        with pytest.raises(AttributeError, match="Unknown attribute"):
            tg.backends.cuda.matmul.allow_nothing = True
        with pytest.raises(AttributeError, match="Unknown attribute"):
            _ = tg.backends.cuda.matmul.allow_nothing
        tg.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
        assert tg.backends.cuda.matmul.allow_fp16_reduced_precision_reduction is False
    finally:
        tg.set_float32_matmul_precision("highest")
        tg.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.set_float32_matmul_precision(theirs)
