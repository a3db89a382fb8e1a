#pragma once
/// Exact samplers for Brownian walkers (private to the kernels): uniform directions, the
/// first passage from outside a circle/sphere onto it, and the vector geometry of steps and
/// contacts. Only +, -, *, / and sqrt are used (all correctly rounded in IEEE 754) and no
/// trigonometric or logarithmic library call enters a trajectory, so a seed gives the same
/// walk with every standard library (as long as the compiler does not fuse a*b+c: GCC in ISO
/// mode does not, Clang needs -ffp-contract=off).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>

#include "fracstudy/kernels/random.hpp"

namespace fracstudy::kernels::detail {

/// A point or displacement in D dimensions.
template <std::size_t D>
using Vec = std::array<double, D>;

/// Dot product.
template <std::size_t D>
double dot(const Vec<D>& a, const Vec<D>& b) {
  double sum = 0;
  for (std::size_t k = 0; k < D; ++k) {
    sum += a[k] * b[k];
  }
  return sum;
}

/// Euclidean norm.
template <std::size_t D>
double norm(const Vec<D>& a) {
  return std::sqrt(dot<D>(a, a));
}

/// a + s b.
template <std::size_t D>
Vec<D> add_scaled(const Vec<D>& a, double s, const Vec<D>& b) {
  Vec<D> sum;
  for (std::size_t k = 0; k < D; ++k) {
    sum[k] = a[k] + s * b[k];
  }
  return sum;
}

/// s a.
template <std::size_t D>
Vec<D> scaled(double s, const Vec<D>& a) {
  Vec<D> product;
  for (std::size_t k = 0; k < D; ++k) {
    product[k] = s * a[k];
  }
  return product;
}

/// Where the ray w + t u (t >= 0, u a unit vector, w the start relative to the sphere's
/// centre) enters the sphere of the given radius; +infinity when it never does. A start
/// already on (or, by rounding, inside) the sphere and heading in enters at t = 0.
template <std::size_t D>
double ray_sphere_entry(const Vec<D>& w, const Vec<D>& u, double radius) {
  const double b = dot<D>(w, u);                               // < 0: heading towards the centre
  const double c = dot<D>(w, w) - radius * radius;             // <= 0: touching (or rounded inside)
  if (b >= 0) return std::numeric_limits<double>::infinity();  // moving away: no entry
  if (c <= 0) return 0.0;                                      // touching and heading in
  const double discriminant = b * b - c;
  if (discriminant < 0) return std::numeric_limits<double>::infinity();  // line misses it
  return -b - std::sqrt(discriminant);
}

/// A point of the unit disk and its squared distance from the centre.
struct DiskPoint {
  double x, y, norm_sq;
};

/// A point uniform in the unit disk minus its centre, by rejection from the square.
inline DiskPoint uniform_in_unit_disk(Rng& rng) {
  for (;;) {
    const double x = 2.0 * rng.uniform() - 1.0;
    const double y = 2.0 * rng.uniform() - 1.0;
    const double norm_sq = x * x + y * y;
    if (norm_sq < 1.0 && norm_sq > 0.0) return {x, y, norm_sq};
  }
}

/// (cos phi, sin phi) for phi uniform in [0, 2 pi): von Neumann's trick doubles the angle
/// of a uniform point of the disk, which needs neither trigonometry nor a square root.
inline Vec<2> uniform_unit_circle(Rng& rng) {
  const DiskPoint p = uniform_in_unit_disk(rng);
  return {(p.x * p.x - p.y * p.y) / p.norm_sq, 2.0 * p.x * p.y / p.norm_sq};
}

/// A unit vector uniform on the sphere (Marsaglia 1972).
inline Vec<3> uniform_unit_sphere(Rng& rng) {
  const DiskPoint p = uniform_in_unit_disk(rng);
  const double scale = 2.0 * std::sqrt(1.0 - p.norm_sq);
  return {p.x * scale, p.y * scale, 1.0 - 2.0 * p.norm_sq};
}

/// A unit vector uniform in direction, in D = 2 or 3 dimensions.
template <std::size_t D>
Vec<D> random_direction(Rng& rng) {
  static_assert(D == 2 || D == 3);
  if constexpr (D == 2) {
    return uniform_unit_circle(rng);
  } else {
    return uniform_unit_sphere(rng);
  }
}

/// A unit vector on the outer side of a surface with unit normal n, distributed by
/// Lambert's cosine law (density proportional to cos theta from n): the direction in
/// which a diffusely reflecting wall re-emits a molecule (Knudsen's law).
///  - 3D: n plus a uniform unit vector, normalised, is exactly cosine-distributed (the
///    sphere of radius 1 about n passes through the origin, and seen from there its
///    uniform area element subtends cos theta dOmega).
///  - 2D: the density (1/2) cos theta on (-pi/2, pi/2) makes sin theta uniform on
///    (-1, 1).
template <std::size_t D>
Vec<D> cosine_direction(const Vec<D>& n, Rng& rng) {
  static_assert(D == 2 || D == 3);
  if constexpr (D == 2) {
    const double sin_theta = 2.0 * rng.uniform() - 1.0;
    const double cos_theta = std::sqrt(1.0 - sin_theta * sin_theta);
    return {cos_theta * n[0] - sin_theta * n[1], cos_theta * n[1] + sin_theta * n[0]};
  } else {
    for (;;) {
      const Vec<3> sum = add_scaled<3>(n, 1.0, uniform_unit_sphere(rng));
      const double length = norm<3>(sum);
      if (length > 1e-9) return scaled<3>(1.0 / length, sum);  // sum ~ 0 has measure 0
    }
  }
}

/// A standard Cauchy variate, tan(pi (u - 1/2)): the tangent of a uniform angle, read off
/// a uniform point of the disk as y / x.
inline double standard_cauchy(Rng& rng) {
  for (;;) {
    const DiskPoint p = uniform_in_unit_disk(rng);
    if (p.x != 0.0) return p.y / p.x;
  }
}

/// The unit vector along `offset`, or the first axis for a zero offset (then any axis
/// serves: the laws below are isotropic about a walker at the centre).
template <std::size_t D>
Vec<D> axis_of(const Vec<D>& offset, double length) {
  if (length > 0) return scaled<D>(1.0 / length, offset);
  Vec<D> axis{};
  axis[0] = 1.0;
  return axis;
}

/// Where a Brownian walker at `x`, at distance rho != R from `centre`, first hits the
/// circle of radius R about it: inside the disk (the exit point from a free disk) or
/// outside it (in 2D the walk is recurrent: it always returns). Both cases have the
/// Poisson-kernel density |R^2 - rho^2| / (2 pi (rho^2 + R^2 - 2 rho R cos theta)) for the
/// angle theta from x's direction, sampled exactly by
/// tan(theta/2) = (|R - rho| / (R + rho)) tan(pi (u - 1/2)). `rho` is |x - centre|, which a
/// walker's ball already knows: its square root is not taken again on the walk's critical path.
inline Vec<2> first_passage_to_circle(const Vec<2>& x, const Vec<2>& centre, double radius,
                                      double rho, Rng& rng) {
  const Vec<2> offset = add_scaled<2>(x, -1.0, centre);
  const double half_tan = std::abs(rho - radius) / (rho + radius) * standard_cauchy(rng);
  // cos and sin of theta from t = tan(theta/2): (1 - t^2)/(1 + t^2) and 2t/(1 + t^2).
  const double denominator = 1.0 + half_tan * half_tan;
  const double cos_theta = (1.0 - half_tan * half_tan) / denominator;
  const double sin_theta = 2.0 * half_tan / denominator;
  const Vec<2> u = axis_of<2>(offset, rho);
  return {centre[0] + radius * (u[0] * cos_theta - u[1] * sin_theta),
          centre[1] + radius * (u[0] * sin_theta + u[1] * cos_theta)};
}

/// The same about the origin, from outside the circle (a stray walker's return).
inline Vec<2> first_passage_to_circle(const Vec<2>& x, double radius, Rng& rng) {
  return first_passage_to_circle(x, Vec<2>{}, radius, norm<2>(x), rng);
}

/// Two unit vectors completing the unit vector n to an orthonormal basis, without
/// branching on small components (Duff et al. 2017, "Building an orthonormal basis,
/// revisited").
inline std::array<Vec<3>, 2> orthonormal_complement(const Vec<3>& n) {
  const double sign = std::copysign(1.0, n[2]);
  const double a = -1.0 / (sign + n[2]);
  const double b = n[0] * n[1] * a;
  return {Vec<3>{1.0 + sign * n[0] * n[0] * a, sign * b, -sign * n[0]},
          Vec<3>{b, sign + n[1] * n[1] * a, -n[1]}};
}

/// The point where a Brownian walker at `x`, at distance rho != R from `centre`, hits the
/// sphere of radius R about it, given that it does (always from inside; from outside with
/// probability R / rho). Inside and outside alike the squared distance w = rho^2 + R^2 -
/// 2 rho R cos theta from x to the hitting point has density proportional to w^(-3/2)
/// (the Poisson kernel, a uniform measure in w on the sphere), so w^(-1/2) is uniform
/// between 1/(R + rho) and 1/|R - rho|; the azimuth is uniform. `rho` is |x - centre|, as
/// the caller has it.
inline Vec<3> hit_on_sphere(const Vec<3>& x, const Vec<3>& centre, double radius, double rho,
                            Rng& rng) {
  const Vec<3> offset = add_scaled<3>(x, -1.0, centre);
  // With near = 1/|R - rho|, far = 1/(R + rho) and s = near - u (near - far) = w^(-1/2),
  // 1 - cos theta = (w - (R - rho)^2) / (2 rho R) = u (near + s) / (|R^2 - rho^2| near^2 s^2
  // max(R, rho)): written without a difference of close numbers or a division by rho, so
  // that a walker near either the centre or the sphere keeps its precision.
  // |R^2 - rho^2| as a product: the difference of the squares lost digits for rho near R.
  const double gap = std::abs(radius - rho);
  const double spread = gap * (radius + rho);
  const double near = 1.0 / gap;
  const double u = rng.uniform();
  const double s = near - u * (2.0 * std::min(radius, rho) / spread);
  const double one_minus_cos =
      std::clamp(u * (near + s) / (spread * near * near * s * s * std::max(radius, rho)), 0.0, 2.0);
  const double cos_theta = 1.0 - one_minus_cos;
  const double sin_theta = std::sqrt(one_minus_cos * (1.0 + cos_theta));
  const Vec<3> axis = axis_of<3>(offset, rho);
  const auto [e1, e2] = orthonormal_complement(axis);
  const Vec<2> azimuth = uniform_unit_circle(rng);
  Vec<3> hit;
  for (std::size_t k = 0; k < 3; ++k) {
    hit[k] = centre[k] +
             radius * (cos_theta * axis[k] + sin_theta * (azimuth[0] * e1[k] + azimuth[1] * e2[k]));
  }
  return hit;
}

/// Where a Brownian walker at `x`, outside the sphere of radius `radius` about the origin
/// (|x| = rho > radius), first hits that sphere; nullopt when it escapes to infinity,
/// which happens with probability 1 - R/rho.
inline std::optional<Vec<3>> first_passage_to_sphere(const Vec<3>& x, double radius, Rng& rng) {
  const double rho = norm<3>(x);
  if (rng.uniform() * rho >= radius) return std::nullopt;  // escapes: P = 1 - R/rho
  return hit_on_sphere(x, Vec<3>{}, radius, rho, rng);
}

/// Where a Brownian walker at `x`, inside a ball of radius `radius` about `centre` that
/// nothing obstructs, first leaves it (a walk-on-spheres move from a ball not centred on
/// the walker: every point of the ball's surface can be reached, so the move is as long
/// as the ball allows, not as the walker's distance from its edge). `offset` is |x - centre|.
template <std::size_t D>
Vec<D> exit_from_ball(const Vec<D>& x, const Vec<D>& centre, double radius, double offset,
                      Rng& rng) {
  static_assert(D == 2 || D == 3);
  if constexpr (D == 2) {
    return first_passage_to_circle(x, centre, radius, offset, rng);
  } else {
    return hit_on_sphere(x, centre, radius, offset, rng);
  }
}

/// The same, with |x - centre| computed here.
template <std::size_t D>
Vec<D> exit_from_ball(const Vec<D>& x, const Vec<D>& centre, double radius, Rng& rng) {
  return exit_from_ball<D>(x, centre, radius, norm<D>(add_scaled<D>(x, -1.0, centre)), rng);
}

}  // namespace fracstudy::kernels::detail
