"""Builds the Cython localization kernel; everything else is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

KERNEL = Extension("localization_ext._hologram", ["localization_ext/_hologram.pyx"],
                   extra_compile_args=["-O3", "-ffast-math", "-fopenmp"],
                   extra_link_args=["-fopenmp"])

setup(ext_modules=cythonize([KERNEL], compiler_directives={"language_level": "3"}))
