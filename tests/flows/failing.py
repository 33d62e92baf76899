"""A pipeline class that loads like any other and fails every render (tests/test_render.py)."""


class FailingPipeline:
    @classmethod
    def from_pretrained(cls, path, **kwargs):
        return cls()

    def __call__(self, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
