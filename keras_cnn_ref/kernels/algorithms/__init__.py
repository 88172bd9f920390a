"""The algorithms a correlation may run, side by side: one module each (`plan.Algorithm` names them).

Each class computes one correlation of a padded channels-last batch,
`(N, *Sp, C) x (*K, C/G, F) -> (N, *O, F)`, built from the shapes alone,
through one interface (`guard.Correlation`): `forward`, `backward`, which
returns the input's and the kernel's gradients that its `wants` asks for,
and `mixed`, the operands whose Inf or NaN it would spread. `_choice.choose`
picks one, and `_correlate` runs it, behind `guard.Guarded` where it mixes.
"""
