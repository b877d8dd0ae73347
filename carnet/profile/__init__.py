"""The medical profile (PRF-1, PRF-2): sections, measures, vaccinations, the reimbursed care fed by the operator, Entourage et volontés."""
