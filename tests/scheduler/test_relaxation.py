from ortools.sat.python import cp_model

from scheduler.relaxation import lower_bound


def test_the_floor_is_the_lp_optimum_rounded_up() -> None:
    m = cp_model.CpModel()
    slots = [m.new_bool_var(f"s{n}") for n in range(3)]
    unmet = m.new_int_var(0, 4, "unmet")
    m.add(sum(slots) + unmet == 4)  # four periods wanted, three slots
    m.add_at_most_one(slots[:2])  # two slots clash
    m.minimize(unmet)
    assert lower_bound(m, 1.0) == 2


def test_enforced_constraints_are_left_out_so_the_bound_stays_valid() -> None:
    m = cp_model.CpModel()
    x, on = m.new_bool_var("x"), m.new_bool_var("on")
    m.add(x == 0).only_enforce_if(on)
    m.minimize(1 - x + on)
    assert lower_bound(m, 1.0) == 0


def test_no_objective_no_bound() -> None:
    m = cp_model.CpModel()
    m.new_bool_var("x")
    assert lower_bound(m, 1.0) is None
