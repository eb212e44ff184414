"""Operations on schemes and the math every engine shares.

* :mod:`~discovery.algebra.ops` -- the standard scheme, Kronecker products,
  the cyclic and transpose symmetries of matmul, field conversion;
* :mod:`~discovery.algebra.literature` -- schemes from published formulas
  (Strassen, Strassen--Winograd);
* :mod:`~discovery.algebra.tensor` -- the tensor of a scheme, the Brent
  residual and its Jacobian (numeric and exact);
* :mod:`~discovery.algebra.quantizers` -- real factors to a coefficient
  grid (torch; imported only by the gradient engine and the SPN layers).
"""
