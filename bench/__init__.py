"""The bank's benchmark suite: ``make bench`` runs it and writes docs/BENCHMARKS.md.

Every figure is a ratio of two things measured in the same run, interleaved,
over several repetitions, and reported as median (min-max): these machines
are shared and noisy, and only side-by-side ratios survive that. Nothing
here is a test and nothing here asserts a time.
"""
