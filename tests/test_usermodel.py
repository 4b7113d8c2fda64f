"""Loading users' models: fresh imports, automatic adaptation, one-line errors with the user's frames."""

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from netdoctor import MLP, InvalidArgument, ProtocolError, UserCodeError
from netdoctor.adapters.handwritten import AdaptedNet
from netdoctor.adapters.usermodel import load_user_model, require_protocol, verify_protocol
from netdoctor.usercode import call_user

ROOT = Path(__file__).resolve().parent.parent
NETS = Path(__file__).resolve().parent / "user_nets"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_example_factory_loads_as_adapted_model():
    model = load_user_model(f"{ROOT / 'examples' / 'handwritten_mnist.py'}:build")
    assert isinstance(model, AdaptedNet) and model.style == "accumulate"
    assert verify_protocol(model, np.zeros((2, 784)), np.array([1, 2])) == []


def test_raw_network_is_adapted_automatically_and_says_so():
    model = load_user_model(f"{NETS / 'textbook.py'}:build")
    assert isinstance(model, AdaptedNet) and model.notes[0].startswith("adapted automatically")


def test_protocol_model_passes_through_and_factory_defaults_to_build():
    model = load_user_model(str(NETS / "row_dict.py"))
    assert type(model).__name__ == "RowNet"
    assert verify_protocol(model, np.zeros((3, 12)), np.array([0, 1, 3])) == []


def test_each_load_is_a_fresh_module_and_sys_path_is_restored(tmp_path):
    helper = write(tmp_path, "helper_mod_nd.py", "SCALE = 2.0\n")
    spec = write(tmp_path, "net.py", """
        import numpy as np
        from helper_mod_nd import SCALE
        COUNT = []
        class Net:
            def __init__(self):
                COUNT.append(1)
                self.calls = len(COUNT)
                self.params = {"W": np.ones((2, 2)) * SCALE}
            def loss(self, X, y):
                return 0.0, {"W": np.zeros((2, 2))}
        def build():
            return Net()
    """)
    before = list(sys.path)
    a, b = load_user_model(f"{spec}:build"), load_user_model(f"{spec}:build")
    assert a.calls == b.calls == 1 and type(a) is not type(b)
    assert sys.path == before and helper.exists()


def test_missing_file_and_factory(tmp_path):
    with pytest.raises(InvalidArgument, match=r"nowhere\.py: no such file"):
        load_user_model(str(tmp_path / "nowhere.py") + ":build")
    p = write(tmp_path, "f.py", "def make():\n    return 1\n")
    with pytest.raises(InvalidArgument, match=r"has no function 'build'; defined there: make"):
        load_user_model(f"{p}:build")


def test_syntax_error_names_file_and_line(tmp_path):
    p = write(tmp_path, "broken.py", "import numpy as np\n\ndef build(:\n    pass\n")
    with pytest.raises(UserCodeError, match=r"broken\.py line 3, column \d+: SyntaxError"):
        load_user_model(f"{p}:build")


def test_exception_in_user_code_shows_user_frames_only(tmp_path):
    p = write(tmp_path, "shapes.py", """
        import numpy as np

        class Net:
            def __init__(self):
                self.weights = [np.zeros((30, 784))]
                self.biases = [np.zeros((30, 1))]

            def backprop(self, x, y):
                return np.dot(self.weights[0].T, x)

        def build():
            net = Net()
            net.backprop(np.zeros((784, 1)), None)
            return net
    """)
    with pytest.raises(UserCodeError) as info:
        load_user_model(f"{p}:build")
    msg = str(info.value)
    assert "shapes.py line 10 in backprop: ValueError: shapes (784,30) and (784,1) not aligned" in msg
    assert "called from" in msg and "line 14 in build" in msg
    assert "netdoctor" not in msg and "numpy" not in msg.split(":")[0]
    assert "\n" not in msg and isinstance(info.value.__cause__, ValueError)


def test_call_user_passes_netdoctor_errors_through():
    def raises():
        raise InvalidArgument("ours")

    with pytest.raises(InvalidArgument, match="ours"):
        call_user(raises)


class NoLoss:
    params = {"W": np.zeros(2)}


class BadParams:
    params = {"W": [1.0, 2.0]}

    def loss(self, X, y):
        return 0.0, {}


class BadLoss(MLP):
    def loss(self, X, y):
        value, g = super().loss(X, y)
        g["b1"] = g["b1"][:-1]
        del g["W2"]
        return np.array([value, value]), g


@pytest.mark.parametrize("model,text", [
    (object(), "missing `params`: a dict name -> NumPy array"),
    (NoLoss(), "missing `loss`: loss(X, y) -> (mean loss"),
    (BadParams(), "params['W'] is list; expected a NumPy array"),
], ids=["nothing", "no-loss", "list-param"])
def test_structure_problems(model, text):
    assert any(text in p for p in verify_protocol(model))
    with pytest.raises(ProtocolError, match="does not follow the model protocol: ") as info:
        require_protocol(model)
    assert text in str(info.value) and "\n" not in str(info.value)


def test_loss_shape_problems_name_the_tensor():
    problems = verify_protocol(BadLoss((3, 4, 2)), np.zeros((5, 3)), np.zeros(5, dtype=int))
    assert "loss(X, y) returned a loss of shape (2,); expected one number (the batch mean)." in problems
    assert "gradient 'b1' has shape (3,); params['b1'] has shape (4,)." in problems
    assert any("no gradient for 'W2'" in p for p in problems)


def test_factory_returning_something_unusable(tmp_path):
    p = write(tmp_path, "none.py", "def build():\n    return None\n")
    with pytest.raises(ProtocolError, match="NoneType does not follow the model protocol"):
        load_user_model(f"{p}:build")


def test_failed_automatic_adaptation_says_what_to_do(tmp_path):
    p = write(tmp_path, "opaque.py", """
        import numpy as np

        class Net:
            def __init__(self):
                self.weights = [np.zeros((3, 4))]
                self.biases = [np.zeros((3, 1))]

            def feedforward(self, x):
                return np.tanh(self.weights[0] @ x + self.biases[0])

        def build():
            return Net()
    """)
    with pytest.raises(ProtocolError, match=r"adapting it automatically failed: .*backprop.*docs/adapter\.md"):
        load_user_model(f"{p}:build")


def test_a_folder_named_like_the_package_beside_it_holds_the_users_frames():
    # ``netdoctor_demo/`` beside the installed ``netdoctor/`` package (a checkout's examples): its frames are the user's
    import netdoctor
    from netdoctor.usercode import user_frames

    beside = Path(netdoctor.__file__).resolve().parent.parent / "netdoctor_demo" / "train.py"
    namespace: dict = {}
    exec(compile("def step():\n    raise ValueError('in the user code')\n", str(beside), "exec"), namespace)
    with pytest.raises(ValueError) as info:
        namespace["step"]()
    assert [f.filename for f in user_frames(info.value)] == [__file__, str(beside)]
    assert user_frames(info.value)[-1].name == "step"
