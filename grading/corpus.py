r"""A self-test corpus: for each expression, matrix, point and set question, a reference answer
written in the question's notation, equivalent rewrites that must be accepted, and wrong variants
(the errors students make: a sign, a factor, the order of non-commuting factors, swapped
distributions, a missing term, the wrong Kronecker order) that must be rejected.

Used by the tests (``tests/test_grading_questions.py``) and the benchmark
(``benchmarks/grading_bench.py``), where the same items are also given to
HuggingFace's math-verify for comparison.
"""

# qid: (reference, accepted, rejected)
TABLE = {
    "ift6135-h22/4.1": (
        r"\begin{bmatrix}1 & \alpha\\ -\alpha & 1\end{bmatrix}",
        [r"\begin{bmatrix}1 & \alpha\\ -\alpha & 1\end{bmatrix}",
         r"A = \begin{pmatrix}1 & \alpha \\ -\alpha & 1\end{pmatrix}",
         r"I + \alpha\begin{bmatrix}0 & 1\\ -1 & 0\end{bmatrix}",
         r"\left[\begin{matrix}2-1 & \frac{2\alpha}{2} \\ -\alpha & 1\end{matrix}\right]",
         r"\begin{bmatrix}1 & 0\\ 0 & 1\end{bmatrix} - \alpha\begin{bmatrix}0 & -1\\ 1 & 0\end{bmatrix}"],
        [r"\begin{bmatrix}1 & -\alpha\\ \alpha & 1\end{bmatrix}",  # transposed (who ascends)
         r"\begin{bmatrix}1 & \alpha\\ \alpha & 1\end{bmatrix}",  # sign
         r"\begin{bmatrix}1 & -\alpha\\ -\alpha & 1\end{bmatrix}",
         r"\begin{bmatrix}1 & 2\alpha\\ -\alpha & 1\end{bmatrix}",  # factor
         r"\begin{bmatrix}0 & \alpha\\ -\alpha & 0\end{bmatrix}",  # forgot the identity
         r"\begin{bmatrix}1 & \alpha\end{bmatrix}"],  # shape
    ),
    "ift6135-h22/4.2": (
        r"(0, 0)",
        [r"(0,0)", [0, 0], r"(d^*, g^*) = (0, 0)", r"d = 0, g = 0", r"\begin{bmatrix}0\\ 0\end{bmatrix}",
         r"\begin{pmatrix}0 & 0\end{pmatrix}"],
        [r"(1, 1)", r"(0, \alpha)", r"(\alpha, 0)", r"(0, 0, 0)", [1, 0], r"(10^{-12}, 0)", r"(\alpha 10^{-13}, 0)"],
    ),
    "ift6135-h22/5.2": (
        r"F_{12} - W_p F_1",
        [r"F_{12} - W_p F_1", r"-W_p F_1 + F_{12}", r"F_{12}^\top - W_p F_1^\top",
         r"W X W^\top - W_p W (X + X') W^\top", r"F_{21} - W_p F_2", r"\dot{W}_p = F_{12} - W_pF_1",
         r"-(W_p F_1 - F_{12})", r"F_{12} - \frac{1}{2} W_p (F_1 + F_1^T)"],
        [r"F_{12} - F_1 W_p",  # order of non-commuting factors
         r"W_p F_1 - F_{12}",  # sign
         r"F_{12} - 2 W_p F_1",  # factor
         r"\frac{1}{2}(F_{12} - W_p F_1)",
         r"F_{12} - W_p^\top F_1",
         r"F_{12} - W_p F_{12}",
         r"W X W^\top - W_p W X' W^\top"],
    ),
    "ift6135-h22/5.3": (
        r"-(W_p^\top W_p + I) W X' - \tilde{W}_p^\top \tilde{W}_p W X",
        [r"-(W_p^\top W_p + I) W X' - \tilde{W}_p^\top \tilde{W}_p W X",
         r"-(W_p^\top W_p + I)WX' - (W_p - I)^\top(W_p - I)WX",
         r"-W_p^\top W_p W (X + X') + (W_p^\top + W_p) W X - W (X + X')",
         r"\dot W = -(W_p^T W_p + I_{n_2}) W X' - \tilde W_p^T \tilde W_p W X"],
        [r"-(W_p W_p^\top + I) W X' - \tilde{W}_p^\top \tilde{W}_p W X",  # order
         r"(W_p^\top W_p + I) W X' + \tilde{W}_p^\top \tilde{W}_p W X",  # sign
         r"-W_p^\top W_p W X' - \tilde{W}_p^\top \tilde{W}_p W X",  # lost the I
         r"-(W_p^\top W_p + I) W X - \tilde{W}_p^\top \tilde{W}_p W X'",  # X and X' swapped
         r"-(W_p^\top W_p + I) X' W - \tilde{W}_p^\top \tilde{W}_p X W"],  # W on the wrong side
    ),
    "ift6135-h22/5.3.H": (
        r"X' \otimes (W_p^\top W_p + I) + X \otimes \tilde{W}_p^\top \tilde{W}_p",
        [r"X' \otimes (W_p^\top W_p + I) + X \otimes \tilde{W}_p^\top \tilde{W}_p",
         r"X' \otimes W_p^\top W_p + X' \otimes I + X \otimes (W_p - I)^\top (W_p - I)",
         r"H(t) = X'^\top \otimes \left(W_p^\top W_p + I_{n_2}\right) + X^\top \otimes \left(\tilde{W}_p^\top \tilde{W}_p\right)"],
        [r"(W_p^\top W_p + I) \otimes X' + \tilde{W}_p^\top \tilde{W}_p \otimes X",  # Kronecker order
         r"X \otimes (W_p^\top W_p + I) + X' \otimes \tilde{W}_p^\top \tilde{W}_p",  # X, X' swapped
         r"X' \otimes (W_p W_p^\top + I) + X \otimes \tilde{W}_p \tilde{W}_p^\top",  # factor order
         r"X' \otimes W_p^\top W_p + X \otimes \tilde{W}_p^\top \tilde{W}_p"],  # lost I
    ),
    "ift6135-h22/5.4": (
        r"2 X' \otimes I",
        [r"X' \otimes 2I", r"2X' \otimes I_{n_2}", r"2(X' \otimes I)", r"X' \otimes I + X' \otimes I",
         r"X' \otimes (I + I) + X \otimes ((I - I)^\top (I - I))"],
        [r"2I \otimes X'",  # Kronecker order
         r"X' \otimes I",  # factor
         r"4 X' \otimes I",
         r"-2X' \otimes I",  # sign
         r"X' \otimes 2I + X \otimes I"],
    ),
    "ift6135-a23/4.6.dstar": (
        r"\frac{f_1(x)}{f_0(x) + f_1(x)}",
        [r"\frac{f_1(x)}{f_0(x)+f_1(x)}", r"\frac{f_1}{f_1+f_0}", r"D^*(x) = \frac{f_1(x)}{f_1(x)+f_0(x)}",
         r"\frac{1}{1 + f_0(x)/f_1(x)}", r"1 - \frac{f_0(x)}{f_0(x)+f_1(x)}"],
        [r"\frac{f_0(x)}{f_0(x)+f_1(x)}",  # swapped distributions
         r"\frac{f_1(x)}{f_0(x)}", r"\frac{f_1}{2(f_0 + f_1)}", r"\frac{f_1 - f_0}{f_0 + f_1}",
         r"\frac{f_1(x)}{f_0(x) - f_1(x)}"],
    ),
    "ift6135-a23/4.6a": (
        r"\log 2 + \frac{1}{2}\mathbb{E}_{x\sim p_1}[\log D^*(x)] + \frac{1}{2}\mathbb{E}_{x\sim p_0}[\log(1-D^*(x))]",
        [r"\log 2 + \frac12\mathbb{E}_{x\sim p_1}[\log D^*(x)] + \frac12\mathbb{E}_{x\sim p_0}[\log(1-D^*(x))]",
         r"\frac{1}{2}\left(\mathbb{E}_{p_1}[\log D(x)] + \mathbb{E}_{p_0}[\log(1 - D(x))]\right) + \log 2",
         r"\frac12\left(\mathbb{E}_{x\sim p_0}[\log(2(1-D^*(x)))] + \mathbb{E}_{x\sim p_1}[\log(2D^*(x))]\right)",
         r"JSD(p_0, p_1) = \frac{1}{2}\mathbb{E}_{x\sim p_1}\log D^*(x) + \frac{1}{2}\mathbb{E}_{x\sim p_0}"
         r"\log(1-D^*(x)) + \frac{1}{2}\log 4"],
        [r"\frac12\left(\mathbb{E}_{p_1}[\log D^*(x)] + \mathbb{E}_{p_0}[\log(1-D^*(x))]\right)",  # lost log 2
         r"\frac12\left(\mathbb{E}_{p_1}[\log D^*(x)] + \mathbb{E}_{p_0}[\log(1-D^*(x))]\right) - \log 2",  # sign
         r"\log 2 + \frac12\mathbb{E}_{p_0}[\log D^*(x)] + \frac12\mathbb{E}_{p_1}[\log(1-D^*(x))]",  # swapped
         r"\log 2 + \mathbb{E}_{p_1}[\log D^*(x)] + \mathbb{E}_{p_0}[\log(1-D^*(x))]",  # factor
         r"\log 2 + \frac12\mathbb{E}_{p_1}[\log D^*(x)] - \frac12\mathbb{E}_{p_0}[\log(1-D^*(x))]"],
    ),
    "ift6135-a23/4.6b": (
        r"\frac{f_0(x) D^*(x)}{1 - D^*(x)}",
        [r"\frac{f_0(x) D^*(x)}{1-D^*(x)}", r"f_0(x)\frac{D(x)}{1-D(x)}", r"\frac{f_0}{\frac{1}{D^*} - 1}",
         r"f_1(x) = \frac{D^*(x) f_0(x)}{(1-D^*(x))}"],
        [r"f_0(x)\frac{1-D^*(x)}{D^*(x)}",  # inverted ratio
         r"\frac{f_0 D^*}{1 + D^*}", r"f_0(x) D^*(x)", r"\frac{D^*(x)}{1-D^*(x)}",  # missing f_0
         r"\frac{f_0(x) D^*(x)^2}{1 - D^*(x)}"],
    ),
    "vae-simclr/1a.elbo": (
        r"\mathbb{E}_{q_\phi(z|x)}\left[\log p(x,z) - \log q_\phi(z|x)\right]",
        [r"\mathbb{E}_{q_\phi(z|x)}[\log p(x,z) - \log q_\phi(z|x)]",
         r"\mathbb{E}_{q_\phi(z|x)}[\log p(x|z)] - D_{KL}(q_\phi(z|x)\|p(z))",
         r"\log p(x) - D_{KL}(q_\phi(z|x)\|p(z|x))",
         r"\mathcal{L}(\phi, x) = \mathbb{E}_{z\sim q_\phi(z|x)}\left[\log\frac{p(x,z)}{q_\phi(z|x)}\right]",
         r"\int q_\phi(z|x) \log\frac{p(x,z)}{q_\phi(z|x)}\,dz",
         r"\mathbb{E}_{q(z|x)}[\log p(x|z) + \log p(z) - \log q(z|x)]"],
        [r"\mathbb{E}_{q_\phi(z|x)}[\log p(x|z)] + D_{KL}(q_\phi(z|x)\|p(z))",  # sign
         r"\mathbb{E}_{q_\phi(z|x)}[\log p(x|z)] - D_{KL}(p(z)\|q_\phi(z|x))",  # swapped KL
         r"\mathbb{E}_{q_\phi(z|x)}[\log p(x|z)] - D_{KL}(q_\phi(z|x)\|p(z|x))",  # wrong prior
         r"\log p(x) + D_{KL}(q_\phi(z|x)\|p(z|x))",
         r"\mathbb{E}_{q_\phi(z|x)}[\log p(x,z) + \log q_\phi(z|x)]",  # an answer set's sign slip
         r"\mathbb{E}_{q_\phi(z|x)}[\log p(x,z)]"],  # lost the entropy
    ),
    "vae-simclr/1b": (
        r"\mu + \sigma\epsilon",
        [r"\mu + \sigma\epsilon", r"\sigma \varepsilon + \mu", r"z = \mu + \sigma \odot \epsilon",
         r"\mu + \sqrt{\sigma^2}\,\epsilon"],
        [r"\mu + \sigma^2\epsilon",  # variance for standard deviation
         r"\mu\epsilon + \sigma", r"\mu + \epsilon", r"\sigma(\mu + \epsilon)", r"\frac{\epsilon - \mu}{\sigma}"],
    ),
    "mit-hw4/1": ("K", ["K", "N = K", r"\frac{2K}{2}"], ["K - 1", "2K", "K^2", "1", "K+1"]),
    "mit-hw4/2.C": ("N", ["N", "C = N"], ["N - 1", "2N", "N + 1", "1"]),
    "mit-hw4/2.target": ("i", ["i", "y = i"], ["1", "i + 1", "N"]),
    "mit-hw4/3.general": (
        r"\sqrt{\|u\|^2 + \|v\|^2 - 2u^\top v}",
        [r"\sqrt{\|u\|^2 + \|v\|^2 - 2u^\top v}", r"\sqrt{\|u\|_2^2 + \|v\|_2^2 - 2u^Tv}",
         r"\sqrt{u^\top u - 2u^\top v + v^\top v}", r"\sqrt{(u-v)^\top(u-v)}",
         r"\|u - v\|_2 = \left(\|u\|^2 + \|v\|^2 - 2 v^\top u\right)^{1/2}"],
        [r"\sqrt{2 - 2u^\top v}",  # assumes unit vectors
         r"\|u\|^2 + \|v\|^2 - 2u^\top v",  # the square, not the distance
         r"\sqrt{\|u\|^2 + \|v\|^2 + 2u^\top v}",  # sign
         r"\sqrt{\|u\|^2 - \|v\|^2 - 2u^\top v}", r"\|u\| - \|v\|"],
    ),
    "mit-hw4/3.sphere": (
        r"1 - \frac{1}{2}\|u - v\|_2^2",
        [r"1 - \frac{1}{2}\|u - v\|_2^2", r"1 - \frac{\|u-v\|^2}{2}", r"\frac{2 - \|v - u\|^2}{2}"],
        [r"1 - \|u-v\|_2^2",  # factor
         r"\frac12\|u-v\|^2 - 1",  # sign
         r"1 - \frac12\|u - v\|_2",  # lost the square
         r"u^\top v"],  # true, but not in terms of the distance
    ),
}

# set questions: (reference items, accepted, rejected)
SETS = {
    "ift6135-h22/4.3": (
        [r"1 + i\alpha", r"1 - i\alpha"],
        [r"1 \pm i\alpha", [r"1+i\alpha", r"1-i\alpha"], r"\{1 - i\alpha, 1 + i\alpha\}", r"\lambda = 1 \pm i\alpha",
         r"\frac{2 \pm 2i\alpha}{2}", r"\lambda_1 = 1 + i\alpha, \lambda_2 = 1 - i\alpha", r"1 \mp \alpha i"],
        [r"1 \pm \alpha", r"\pm i\alpha", r"1 + i\alpha", r"\{1+i\alpha, 1+i\alpha\}", r"1 \pm i\alpha^2",
         r"\alpha \pm i", r"1 \pm i\alpha(1 + 10^{-14})", r"\sqrt{1 + \alpha^2}"],
    ),
    "mit-hw4/2.range": (
        ["-1", "1"],
        [r"[-1, 1]", [-1, 1], r"\{-1, 1\}", [1, -1], r"\pm 1"],
        [[0, 1], r"[-1, 0]", r"[-2, 2]", [1], r"[-1, 1, 0]"],
    ),
}
