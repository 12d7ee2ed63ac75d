/// The sentence that answers with a candidate the monitor extracted
/// (`on_brake = "extract"`): boxed, as a math reasoning model would have
/// written it, unless the candidate already holds its box.
///
/// ```
/// use selfbrake_policies::text::answer_statement;
///
/// assert_eq!(answer_statement("42"), "The final answer is $\\boxed{42}$.");
/// assert_eq!(answer_statement("\\boxed{7}"), "The final answer is $\\boxed{7}$.");
/// ```
pub fn answer_statement(candidate: &str) -> String {
    if candidate.contains("\\boxed") {
        format!("The final answer is ${candidate}$.")
    } else {
        format!("The final answer is $\\boxed{{{candidate}}}$.")
    }
}
