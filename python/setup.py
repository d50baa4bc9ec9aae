"""Builds the _sluice extension through the repository's CMake build (see pyproject.toml)."""
import os
import pathlib
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = REPO / "build" / "python-package"
        subprocess.check_call(["cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                               "-DSLUICE_TESTS=OFF", "-DPython3_EXECUTABLE=" + os.environ.get("PYTHON", shutil.which("python3"))])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "_sluice"])
        built = next((build / "python" / "sluice").glob("_sluice*.so"))
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, dest)


setup(ext_modules=[Extension("sluice._sluice", sources=[])], cmdclass={"build_ext": CMakeBuild})
