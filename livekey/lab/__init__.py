"""The lab: benchmarks, quality scores against ground truth, and the peers they compare with.

Not part of the runtime: only ``livekey bench`` and ``livekey quality`` import it (lazily)."""
